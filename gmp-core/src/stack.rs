//! Goroutine stacks (interim: corosensei's DefaultStack behind the pool interface; the slab
//! allocator with MADV_GUARD_INSTALL replaces this file).
#![allow(dead_code)]

use parking_lot::Mutex;
use std::io;

pub(crate) const DEFAULT_STACK_SIZE: usize = 64 * 1024;
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;

pub(crate) type Stack = corosensei::stack::DefaultStack;

pub(crate) fn validate_stack_size(bytes: usize) -> io::Result<usize> {
    if bytes < MIN_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("gmp: stack size {bytes} is below the minimum of {MIN_STACK_SIZE} bytes"),
        ));
    }
    Ok(bytes.div_ceil(4096) * 4096)
}

pub(crate) struct StackPool {
    size: usize,
    free: Mutex<Vec<Stack>>,
}

impl std::fmt::Debug for StackPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackPool")
            .field("size", &self.size)
            .finish()
    }
}

impl StackPool {
    pub(crate) fn new(size: usize) -> Self {
        StackPool {
            size,
            free: Mutex::new(Vec::new()),
        }
    }
    pub(crate) fn alloc(&self) -> io::Result<Stack> {
        if let Some(s) = self.free.lock().pop() {
            return Ok(s);
        }
        Stack::new(self.size)
    }
    pub(crate) fn free(&self, s: Stack) {
        self.free.lock().push(s);
    }
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

pub(crate) const GUARD_SIZE: usize = 4096;
pub(crate) fn install_overflow_handler() {}
pub(crate) fn ensure_altstack() {}
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunningStack {
    pub(crate) goid: u64,
    pub(crate) guard_lo: usize,
    pub(crate) guard_hi: usize,
    pub(crate) size: usize,
}
pub(crate) fn set_running(_info: Option<RunningStack>) {}
