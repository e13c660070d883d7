//go:build unix

// Package procgroup starts a stand-in or a function in its own process group, so that stopping
// it also stops whatever it spawned (node's workers, a bootstrap's children).
package procgroup

import (
	"os/exec"
	"syscall"
)

// Set makes cmd the leader of a new process group when it starts.
func Set(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// Kill stops cmd's whole process group.
func Kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Terminate asks cmd's whole process group to stop (SIGTERM), for a graceful shutdown.
func Terminate(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}
