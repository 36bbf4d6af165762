//! A pool of worker threads that runs independent jobs (sealing or opening
//! one chunk each) in parallel and hands their results back in submission
//! order. At most `depth` jobs are in flight, which bounds memory to `depth`
//! chunks whatever the archive's size.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

type Job<J, R> = (J, SyncSender<Result<R>>);

/// Ordered parallel execution of `J -> Result<R>` jobs.
#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
pub(crate) struct OrderedPool<J: Send + 'static, R: Send + 'static> {
    jobs: Option<SyncSender<Job<J, R>>>,
    pending: VecDeque<Receiver<Result<R>>>,
    workers: Vec<JoinHandle<()>>,
    depth: usize,
}

/// How many worker threads to use when the caller does not say: every core,
/// or only the caller's own thread without the `parallel` feature.
pub fn default_threads() -> usize {
    usable_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The threads a request for `requested` gets: without the `parallel`
/// feature, everything runs on the caller's thread and no thread is spawned.
pub(crate) fn usable_threads(requested: usize) -> usize {
    if cfg!(feature = "parallel") {
        requested
    } else {
        1
    }
}

#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
impl<J: Send + 'static, R: Send + 'static> OrderedPool<J, R> {
    /// Starts `threads` workers, each running jobs with its own state from
    /// `make_worker` (a compressor, a cipher), with up to `depth` jobs in flight.
    pub(crate) fn new<F>(
        threads: usize,
        depth: usize,
        make_worker: impl Fn() -> Result<F>,
    ) -> Result<Self>
    where
        F: FnMut(J) -> Result<R> + Send + 'static,
    {
        let (sender, receiver) = sync_channel::<Job<J, R>>(depth);
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads.max(1) {
            let mut work = make_worker()?;
            let receiver = Arc::clone(&receiver);
            workers.push(std::thread::spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = match receiver.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((job, reply)) = next else { return };
                    // The submitter may have gone; then nobody wants the result.
                    let _ = reply.send(work(job));
                }
            }));
        }
        Ok(OrderedPool {
            jobs: Some(sender),
            pending: VecDeque::with_capacity(depth),
            workers,
            depth: depth.max(1),
        })
    }

    /// Queues `job`. When `depth` jobs are already in flight, first waits for
    /// the oldest and returns its result, so the caller can consume it in order.
    pub(crate) fn submit(&mut self, job: J) -> Result<Option<R>> {
        let oldest = if self.is_full() {
            self.next_result()?
        } else {
            None
        };
        let (reply, result) = sync_channel(1);
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send((job, reply))
            .map_err(|_| stopped())?;
        self.pending.push_back(result);
        Ok(oldest)
    }

    /// Waits for the oldest job in flight and returns its result, or `None`
    /// when nothing is in flight.
    pub(crate) fn next_result(&mut self) -> Result<Option<R>> {
        match self.pending.pop_front() {
            None => Ok(None),
            Some(result) => result.recv().map_err(|_| stopped())?.map(Some),
        }
    }

    /// Whether the next [`submit`](OrderedPool::submit) would first wait for
    /// the oldest job.
    pub(crate) fn is_full(&self) -> bool {
        self.pending.len() >= self.depth
    }
}

/// Chunk-sized buffers handed back by finished jobs, for the next chunks to
/// be built or read in instead of allocating for each: allocated on one
/// thread and freed on another, they made the allocator's heap creep with an
/// archive's length.
#[derive(Debug, Default)]
pub(crate) struct SpareBuffers(Vec<Vec<u8>>);

impl SpareBuffers {
    /// Spares kept beyond those in flight: the next chunk's two, with room
    /// for the two a finished chunk gives back.
    const KEPT: usize = 4;

    /// An empty buffer: a spare one, or a new one.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let mut buffer = self.0.pop().unwrap_or_default();
        buffer.clear();
        buffer
    }

    /// Keeps `buffer` for reuse, unless enough are kept already.
    pub(crate) fn give(&mut self, buffer: Vec<u8>) {
        if self.0.len() < Self::KEPT {
            self.0.push(buffer);
        }
    }
}

#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
fn stopped() -> Error {
    Error::invalid("a worker thread stopped unexpectedly")
}

impl<J: Send + 'static, R: Send + 'static> Drop for OrderedPool<J, R> {
    /// Closes the job queue and waits for the workers: no thread outlives
    /// its pool. Results still in flight are discarded.
    fn drop(&mut self) {
        self.jobs = None;
        self.pending.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_submission_order() {
        let mut pool = OrderedPool::new(4, 3, || {
            Ok(|n: u64| {
                // Later jobs finish first.
                std::thread::sleep(std::time::Duration::from_micros(1000 / (n % 5 + 1)));
                Ok(n * 2)
            })
        })
        .unwrap();
        let mut out = Vec::new();
        for n in 0..50 {
            out.extend(pool.submit(n).unwrap());
            assert!(pool.pending.len() <= 3);
        }
        while let Some(result) = pool.next_result().unwrap() {
            out.push(result);
        }
        assert_eq!(out, (0..50).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_comes_back_in_its_place() {
        let mut pool = OrderedPool::new(2, 2, || {
            Ok(|n: u32| {
                if n == 3 {
                    Err(Error::corrupt(u64::from(n), "bad"))
                } else {
                    Ok(n)
                }
            })
        })
        .unwrap();
        // A caller stops at the first error; everything before it came back in order.
        let mut results = Vec::new();
        let mut error = None;
        for n in 0..6 {
            match pool.submit(n) {
                Ok(done) => results.extend(done),
                Err(failure) => {
                    error = Some(failure);
                    break;
                }
            }
        }
        while error.is_none() {
            match pool.next_result() {
                Ok(Some(done)) => results.push(done),
                Ok(None) => break,
                Err(failure) => error = Some(failure),
            }
        }
        let error = error.unwrap();
        assert!(matches!(error, Error::Corrupt { chunk: 3, .. }));
        assert_eq!(results, vec![0, 1, 2]);
    }
}
