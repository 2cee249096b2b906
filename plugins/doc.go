// Package plugins hosts external tasks that run as separate processes over
// hashicorp/go-plugin, and holds the wire protocol they speak.
package plugins
