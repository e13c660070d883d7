package promote

// ForMemory returns a curated file size and a batch size for a function of memoryMB megabytes.
// A promotion holds at most about one curated file of the target size, a batch of cleansed
// files (compressed) and what they convert to, and one entry per key of the batch: about
// TargetBytes + 5 × StepBytes of live data at its peak. A fifth of the memory for files,
// capped at DefaultTargetBytes, leaves room for that, the garbage collector's headroom, and
// what is not heap (the binary's pages, stacks): 128 MB functions write 25 MB files, 640 MB
// and larger ones 128 MB files. Measured: TestMeasureBinaryMemory in functions/promote.
func ForMemory(memoryMB int) (targetBytes, stepBytes int64) {
	if memoryMB <= 0 {
		return DefaultTargetBytes, DefaultStepBytes
	}
	targetBytes = min(DefaultTargetBytes, int64(memoryMB)<<20/5)
	return targetBytes, max(1<<20, targetBytes/8)
}
