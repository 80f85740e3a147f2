//! Interim local run queue (a locked deque with Go's runqput/runqget/runqsteal interface);
//! replaced by the lock-free ring.
#![allow(dead_code)]

use crate::loom::Mutex;
use std::collections::VecDeque;

pub(crate) const LOCAL_QUEUE_CAPACITY: usize = 256;

#[derive(Debug)]
pub(crate) struct RunQueue<T> {
    inner: Mutex<(Option<T>, VecDeque<T>)>,
}

impl<T> RunQueue<T> {
    pub(crate) fn new() -> Self {
        RunQueue {
            inner: Mutex::new((None, VecDeque::new())),
        }
    }
    pub(crate) fn put(&self, item: T, next: bool) -> Result<(), Vec<T>> {
        let mut q = self.inner.lock();
        let item = if next {
            match q.0.replace(item) {
                Some(old) => old,
                None => return Ok(()),
            }
        } else {
            item
        };
        if q.1.len() >= LOCAL_QUEUE_CAPACITY {
            let n = q.1.len() / 2;
            let mut batch: Vec<T> = q.1.drain(..n).collect();
            batch.push(item);
            return Err(batch);
        }
        q.1.push_back(item);
        Ok(())
    }
    pub(crate) fn get(&self) -> Option<(T, bool)> {
        let mut q = self.inner.lock();
        if let Some(g) = q.0.take() {
            return Some((g, true));
        }
        q.1.pop_front().map(|g| (g, false))
    }
    pub(crate) fn steal_into(
        &self,
        dst: &RunQueue<T>,
        steal_runnext: bool,
        _victim_running: bool,
    ) -> Option<T> {
        let mut v = self.inner.lock();
        let n = v.1.len() - v.1.len() / 2;
        if n == 0 {
            return if steal_runnext { v.0.take() } else { None };
        }
        let mut batch: Vec<T> = v.1.drain(..n).collect();
        drop(v);
        let first = batch.remove(0);
        let mut d = dst.inner.lock();
        d.1.extend(batch);
        Some(first)
    }
    pub(crate) fn put_batch(&self, items: impl Iterator<Item = T>) {
        self.inner.lock().1.extend(items);
    }
    pub(crate) fn len(&self) -> usize {
        let q = self.inner.lock();
        q.1.len() + q.0.is_some() as usize
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub(crate) fn drain(&self) -> Vec<T> {
        let mut q = self.inner.lock();
        let mut v: Vec<T> = q.0.take().into_iter().collect();
        v.extend(q.1.drain(..));
        v
    }
}
