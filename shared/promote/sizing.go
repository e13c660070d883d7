package promote

// ForMemory returns a curated file size and a batch size for a function of memoryMB megabytes.
// A promotion holds at most about one curated file of the target size, a batch of cleansed
// files (compressed) and what they convert to, and one entry per key of the batch: about
// TargetBytes + 5 × StepBytes at its peak. A quarter of the memory for files, capped at
// DefaultTargetBytes, leaves room for that, the runtime and the garbage collector's headroom:
// 128 MB functions write 32 MB files, 512 MB and larger ones 128 MB files.
func ForMemory(memoryMB int) (targetBytes, stepBytes int64) {
	if memoryMB <= 0 {
		return DefaultTargetBytes, DefaultStepBytes
	}
	targetBytes = min(DefaultTargetBytes, int64(memoryMB)<<20/4)
	return targetBytes, max(1<<20, targetBytes/8)
}
