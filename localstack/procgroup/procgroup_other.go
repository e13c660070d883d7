//go:build !unix

package procgroup

import "os/exec"

// Set does nothing where there are no process groups.
func Set(*exec.Cmd) {}

// Kill stops cmd itself.
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// Terminate stops cmd itself.
func Terminate(cmd *exec.Cmd) { Kill(cmd) }
