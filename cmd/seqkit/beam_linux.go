package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill cmd when seqkit dies, however it dies
// (kill -9 too), so a Beam job never outlives the command that started it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
