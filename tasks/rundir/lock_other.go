//go:build !unix

package rundir

import "os"

// lockExclusive does not lock where flock is missing: the run directory is
// then the user's to keep to one process.
func lockExclusive(*os.File) error { return nil }
