//go:build !unix

package runtimeapi

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func terminateProcessGroup(cmd *exec.Cmd) { killProcessGroup(cmd) }
