//! Worker threads that produce numbered items ahead of a consumer, in order.
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Worker threads that produce items `start..end` in order.
///
/// Worker `k` of `W` makes items `start + k`, `start + k + W`, ... into its own bounded
/// channel, so the consumer reads item `i` from channel `(i - start) % W`: in order
/// without a reordering buffer, and never more than about `prefetch` items ahead.
pub(crate) struct Pipeline<T> {
    receivers: Vec<Receiver<Result<T>>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    start: u64,
    next: u64,
    end: u64,
}

impl<T: Send + 'static> Pipeline<T> {
    /// `make_job` is called once per worker; a job that fails ends its worker.
    pub(crate) fn spawn<J>(
        workers: usize,
        prefetch: usize,
        start: u64,
        end: u64,
        mut make_job: impl FnMut() -> J,
    ) -> Result<Self>
    where
        J: FnMut(u64) -> Result<T> + Send + 'static,
    {
        let w = workers.max(1);
        let capacity = prefetch.div_ceil(w).max(1);
        let mut pipeline = Pipeline {
            receivers: Vec::with_capacity(w),
            handles: Vec::with_capacity(w),
            stop: Arc::new(AtomicBool::new(false)),
            start,
            next: start,
            end,
        };
        for k in 0..w {
            let (tx, rx) = sync_channel(capacity);
            let (stop, mut job) = (pipeline.stop.clone(), make_job());
            let handle = std::thread::Builder::new()
                .name(format!("crossdf-loader-{k}"))
                .spawn(move || {
                    let mut item = start.checked_add(k as u64);
                    while let Some(i) = item.filter(|&i| i < end) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let result = job(i);
                        let failed = result.is_err();
                        // A closed channel means the loader was dropped.
                        if tx.send(result).is_err() || failed {
                            return;
                        }
                        item = i.checked_add(w as u64);
                    }
                })
                .map_err(|e| Error::system("cannot start a data loader thread", e))?;
            pipeline.receivers.push(rx);
            pipeline.handles.push(handle);
        }
        Ok(pipeline)
    }

    /// Number of the item the next call returns.
    pub(crate) fn position(&self) -> u64 {
        self.next
    }

    pub(crate) fn next(&mut self) -> Option<Result<T>> {
        if self.next >= self.end {
            return None;
        }
        let k = ((self.next - self.start) % self.receivers.len() as u64) as usize;
        Some(match self.receivers[k].recv() {
            Ok(result) => {
                self.next += 1;
                result
            }
            Err(_) => Err(Error::invalid(
                "a data loader worker stopped (after an earlier error or a panic)",
            )),
        })
    }
}

impl<T> Drop for Pipeline<T> {
    /// Workers blocked on a full channel wake up with an error once the receivers are
    /// gone; a worker mid-batch finishes that batch and then sees the closed channel.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
