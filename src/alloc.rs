//! How the C allocator that libtorch's CPU tensors come from is set up.
//!
//! glibc serves every block over its mmap threshold with a fresh `mmap` and returns it with
//! `munmap` when freed. A training or scoring step allocates and frees the same large
//! activation buffers every time, so each step faults every page of them in anew: measured on
//! the 2-core machine, ResNet-50 scoring at 224 px spent as much time in the kernel as in the
//! convolutions (8.7 img/s). Serving those blocks from the heap and keeping freed memory for
//! the next step (no mmap, no trimming) gave 27.9 img/s. The price is that the process keeps
//! its high-water mark of memory instead of handing it back between steps.
//!
//! `CROSSDF_MALLOC=system` leaves glibc's defaults alone.

/// Applies the setting once, before any tensor exists; returns whether it was applied.
pub fn tune_for_tensors() -> bool {
    if std::env::var("CROSSDF_MALLOC").is_ok_and(|v| v == "system") {
        return false;
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only changes allocator parameters; it is called before any other
    // thread allocates, and both values are in the documented ranges.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn large_blocks_come_from_the_heap_after_tuning() {
        // glibc reports mmapped bytes in mallinfo2().hblkhd. Untuned, a 40 MiB block is always
        // mmapped (above the largest dynamic threshold, 32 MiB); tuned, it must come from a
        // heap (a thread's heaps hold up to 64 MiB). Other tests may free mmapped blocks
        // meanwhile, never add one.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            assert!(super::tune_for_tensors());
            let before = unsafe { libc::mallinfo2() }.hblkhd;
            let v = vec![1u8; 40 << 20];
            let during = unsafe { libc::mallinfo2() }.hblkhd;
            assert!(
                during <= before,
                "a 40 MiB block was mmapped: {before} -> {during}"
            );
            drop(v);
        }
    }
}
