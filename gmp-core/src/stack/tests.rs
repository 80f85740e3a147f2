//! Tests of stack sizes, the pool, guard pages and the kernel-limit errors.
//!
//! Tests that must crash (a guard-page fault) or that change process-wide limits
//! (`RLIMIT_AS`, the memory-map count) run in a child copy of this test binary: see [`child`].

use std::collections::HashSet;
use std::ptr;

use corosensei::stack::Stack as _;
use corosensei::{Coroutine, CoroutineResult};

use super::*;

/// Running one test in a child process of this test binary.
pub(super) mod child {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, ExitStatus};

    /// The environment variable that selects a child mode.
    const CHILD_ENV: &str = "GMP_STACK_TEST_CHILD";

    /// The mode this process runs in, when it is a child started by [`run`].
    pub(crate) fn mode() -> Option<String> {
        std::env::var(CHILD_ENV).ok()
    }

    /// What a child did.
    #[derive(Debug)]
    pub(crate) struct Outcome {
        pub(crate) status: ExitStatus,
        pub(crate) stderr: String,
    }

    impl Outcome {
        /// The signal that killed the child, if one did.
        pub(crate) fn signal(&self) -> Option<i32> {
            self.status.signal()
        }

        /// Asserts that the child was killed by `signal` (`None`: that no signal killed it);
        /// the message shows `mode`, the exit status and the child's stderr.
        pub(crate) fn assert_signal(&self, signal: Option<i32>, mode: &str) {
            assert_eq!(
                self.signal(),
                signal,
                "{mode}: child not killed by the expected signal: {:?}\n{}",
                self.status,
                self.stderr
            );
        }
    }

    /// Runs the test `test` (its path inside the crate, `stack::tests::name`) alone in a
    /// child copy of this test binary with the child mode `mode`, and waits for it.
    pub(crate) fn run(test: &str, mode: &str) -> Outcome {
        run_with_backtrace(test, mode, "0")
    }

    /// [`run`] with `RUST_BACKTRACE` set to `backtrace` in the child.
    pub(crate) fn run_with_backtrace(test: &str, mode: &str, backtrace: &str) -> Outcome {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = Command::new(exe);
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, mode)
            .env("RUST_BACKTRACE", backtrace);
        // SAFETY: the closure runs in the forked child before exec and only calls setrlimit,
        // which is async-signal-safe; it allocates nothing and takes no lock.
        unsafe {
            cmd.pre_exec(|| {
                // No core dumps from the crashes these tests provoke on purpose.
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &zero);
                Ok(())
            });
        }
        let out = cmd.output().expect("spawn child test process");
        Outcome {
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Path of a test function of this module inside the crate, as the test harness names it.
fn test_path(name: &str) -> String {
    let module = module_path!();
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{module}::{name}")
}

/// Runs the test `name` in a child in mode "run" and asserts that it succeeded.
fn run_child_ok(name: &str) -> child::Outcome {
    let out = child::run(&test_path(name), "run");
    assert!(out.status.success(), "{:?}\n{}", out.status, out.stderr);
    out
}

/// Echoes the `ERROR: ` line a child printed and asserts that it contains every needle.
fn assert_error_mentions(out: &child::Outcome, needles: &[String]) {
    let msg = out
        .stderr
        .lines()
        .find(|l| l.starts_with("ERROR: "))
        .expect(&out.stderr);
    eprintln!("{msg}");
    for needle in needles {
        assert!(
            msg.contains(needle.as_str()),
            "{needle:?} missing from: {msg}"
        );
    }
}

/// How many pages of `addr..addr + len` are resident (mincore).
fn resident_pages(addr: usize, len: usize) -> usize {
    let page = page_size();
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: mincore reads the page tables of a mapped, page-aligned range and writes one
    // byte per page into `vec`, which has exactly that many.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// Writes one byte into every page of the stack's usable range, reading back each.
fn touch_all(stack: &Stack, value: u8) {
    let (_, lo) = stack.guard_range();
    for addr in (lo..stack.base().get()).step_by(page_size()) {
        // SAFETY: `addr` is inside the usable range of a stack we own.
        unsafe {
            ptr::write_volatile(addr as *mut u8, value);
            assert_eq!(ptr::read_volatile(addr as *const u8), value);
        }
    }
}

/// Writes `value` into the stack's top byte.
fn touch_top(stack: &Stack, value: u8) {
    // SAFETY: the byte below `base` is the highest usable byte of a stack we own.
    unsafe { ptr::write_volatile((stack.base().get() - 1) as *mut u8, value) };
}

/// Reads the stack's top byte.
fn read_top(stack: &Stack) -> u8 {
    // SAFETY: as in `touch_top`.
    unsafe { ptr::read_volatile((stack.base().get() - 1) as *const u8) }
}

#[test]
fn pool_is_shared_and_stacks_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<StackPool>();
    send::<Stack>();
    send::<RunningStack>();
}

#[test]
fn validate_stack_size_rounds_and_rejects() {
    let page = page_size();
    assert_eq!(validate_stack_size(DEFAULT_STACK_SIZE).unwrap(), 64 * 1024);
    assert_eq!(validate_stack_size(MIN_STACK_SIZE).unwrap(), MIN_STACK_SIZE);
    // Rounded up to whole pages; a request just under the minimum rounds up to it.
    assert_eq!(
        validate_stack_size(MIN_STACK_SIZE - 1).unwrap(),
        MIN_STACK_SIZE
    );
    assert_eq!(
        validate_stack_size(65 * 1024 + 1).unwrap(),
        (65 * 1024 + 1usize).div_ceil(page) * page
    );
    assert_eq!(validate_stack_size(MAX_STACK_SIZE).unwrap(), MAX_STACK_SIZE);

    for small in [0, 1, 4096, 16 * 1024, MIN_STACK_SIZE - page] {
        let err = validate_stack_size(small).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains(&format!("{small} bytes")), "{msg}");
        assert!(msg.contains("minimum of 32768 bytes"), "{msg}");
    }
    for big in [MAX_STACK_SIZE + 1, usize::MAX / 2, usize::MAX] {
        let err = validate_stack_size(big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("maximum of 1073741824 bytes"),
            "{err}"
        );
    }
}

#[test]
fn stacks_are_disjoint_aligned_guarded_and_writable() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let page = page_size();
    let stacks: Vec<Stack> = (0..100).map(|_| pool.alloc().unwrap()).collect();
    let mut ranges = Vec::new();
    for s in &stacks {
        let (glo, ghi) = s.guard_range();
        assert_eq!(s.size(), DEFAULT_STACK_SIZE);
        assert_eq!(ghi - glo, page);
        assert_eq!(s.limit().get(), glo, "limit() includes the guard page");
        assert_eq!(s.base().get() - ghi, DEFAULT_STACK_SIZE);
        assert_eq!(s.base().get() % page, 0);
        assert_eq!(s.base().get() % corosensei::stack::STACK_ALIGNMENT, 0);
        assert_eq!(glo % page, 0);
        ranges.push((glo, s.base().get()));
        touch_all(s, 0x5a);
    }
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "slots overlap: {w:?}");
    }
    for s in stacks {
        pool.free(s);
    }
}

#[test]
fn free_then_alloc_reuses_most_recent_stack() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let a = pool.alloc().unwrap();
    let b = pool.alloc().unwrap();
    let (a_top, b_top) = (a.base(), b.base());
    assert_ne!(a_top, b_top);
    touch_top(&a, 7);
    pool.free(b);
    pool.free(a);
    // LIFO: the hottest stack comes back first, with its pages still resident.
    let a2 = pool.alloc().unwrap();
    assert_eq!(a2.base(), a_top);
    assert_eq!(read_top(&a2), 7, "a warm stack keeps its pages");
    let b2 = pool.alloc().unwrap();
    assert_eq!(b2.base(), b_top);
    let c = pool.alloc().unwrap();
    assert!(c.base() != a_top && c.base() != b_top);
    assert_eq!(pool.state.lock().live, 3);
    pool.free(a2);
    pool.free(b2);
    pool.free(c);
    assert_eq!(pool.state.lock().live, 0);
}

#[test]
fn coroutine_runs_on_pool_stack_and_returns_it() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let stack = pool.alloc().unwrap();
    let (lo, top) = (stack.guard_range().1, stack.base().get());
    let mut co = Coroutine::with_stack(stack, move |y, start: u32| {
        let local = 0u8;
        let sp = &local as *const u8 as usize;
        let next = y.suspend((start + 1, sp));
        next * 2
    });
    let CoroutineResult::Yield((v, sp)) = co.resume(20) else {
        panic!("coroutine returned early")
    };
    assert_eq!(v, 21);
    assert!(
        sp > lo && sp < top,
        "local {sp:#x} not on the stack {lo:#x}..{top:#x}"
    );
    assert!(matches!(co.resume(5), CoroutineResult::Return(10)));
    let stack = co.into_stack();
    assert_eq!(stack.base().get(), top);
    pool.free(stack);
    let again = pool.alloc().unwrap();
    assert_eq!(again.base().get(), top);
    pool.free(again);
}

#[test]
fn untouched_stack_costs_no_memory() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let stack = pool.alloc().unwrap();
    let (_, lo) = stack.guard_range();
    assert_eq!(
        resident_pages(lo, stack.size()),
        0,
        "a fresh stack is committed on touch"
    );
    touch_top(&stack, 1);
    assert_eq!(
        resident_pages(lo, stack.size()),
        1,
        "one touch commits one page"
    );
    touch_all(&stack, 1);
    assert_eq!(resident_pages(lo, stack.size()), stack.size() / page_size());
    pool.free(stack);
}

#[test]
fn stacks_freed_beyond_warm_cap_release_their_pages() {
    let pool = StackPool::with_options(DEFAULT_STACK_SIZE, sys::detect_guard_kind(), 1);
    let pages = DEFAULT_STACK_SIZE / page_size();
    let a = pool.alloc().unwrap();
    let b = pool.alloc().unwrap();
    touch_all(&a, 0xaa);
    touch_all(&b, 0xbb);
    let (a_lo, b_lo) = (a.guard_range().1, b.guard_range().1);
    pool.free(a); // warm: keeps its pages
    pool.free(b); // warm list full: released
    assert_eq!(resident_pages(a_lo, DEFAULT_STACK_SIZE), pages);
    assert_eq!(resident_pages(b_lo, DEFAULT_STACK_SIZE), 0);
    {
        let st = pool.state.lock();
        assert_eq!((st.warm.len(), st.cold.len()), (1, 1));
    }
    // Warm first, then cold; a released stack reads as zeros and still works.
    let a2 = pool.alloc().unwrap();
    assert_eq!(a2.guard_range().1, a_lo);
    let b2 = pool.alloc().unwrap();
    assert_eq!(b2.guard_range().1, b_lo);
    assert_eq!(read_top(&b2), 0);
    touch_all(&b2, 3);
    pool.free(a2);
    pool.free(b2);
}

#[test]
fn stacks_beyond_warm_cap_are_released_in_batches() {
    let mut pool = StackPool::with_options(DEFAULT_STACK_SIZE, sys::detect_guard_kind(), 0);
    pool.release_batch = 3;
    pool.dirty_max = 2;
    let stacks: Vec<Stack> = (0..3).map(|_| pool.alloc().unwrap()).collect();
    let los: Vec<usize> = stacks.iter().map(|s| s.guard_range().1).collect();
    for s in &stacks {
        touch_all(s, 7);
    }
    let mut stacks = stacks.into_iter();
    pool.free(stacks.next().unwrap());
    pool.free(stacks.next().unwrap());
    // Waiting for a batch: still resident, and handed out first.
    assert_eq!(
        resident_pages(los[0], DEFAULT_STACK_SIZE),
        DEFAULT_STACK_SIZE / page_size()
    );
    let again = pool.alloc().unwrap();
    assert_eq!(again.guard_range().1, los[1]);
    pool.free(again);
    pool.free(stacks.next().unwrap());
    // The third is one too many for the scavenger to wait for: all three released by one
    // call.
    for &lo in &los {
        assert_eq!(resident_pages(lo, DEFAULT_STACK_SIZE), 0);
    }
    let st = pool.state.lock();
    assert_eq!((st.dirty.len(), st.cold.len()), (0, 3));
}

#[test]
fn the_scavenger_releases_the_oldest_freed_stacks_first() {
    let mut pool = StackPool::with_options(DEFAULT_STACK_SIZE, sys::detect_guard_kind(), 0);
    pool.release_batch = 2;
    pool.dirty_max = 100;
    let stacks: Vec<Stack> = (0..5).map(|_| pool.alloc().unwrap()).collect();
    let los: Vec<usize> = stacks.iter().map(|s| s.guard_range().1).collect();
    for s in stacks {
        touch_all(&s, 9);
        pool.free(s);
    }
    assert!(pool.has_dirty());
    assert_eq!(pool.scavenge(3), 3);
    for (i, &lo) in los.iter().enumerate() {
        let want = if i < 3 {
            0
        } else {
            DEFAULT_STACK_SIZE / page_size()
        };
        assert_eq!(resident_pages(lo, DEFAULT_STACK_SIZE), want, "stack {i}");
    }
    assert_eq!(pool.scavenge(10), 2);
    assert!(!pool.has_dirty());
    assert_eq!(pool.state.lock().cold.len(), 5);
}

#[test]
fn default_warm_cap_follows_the_byte_budget() {
    assert_eq!(StackPool::new(DEFAULT_STACK_SIZE).warm_cap, 1024);
    assert_eq!(StackPool::new(MIN_STACK_SIZE).warm_cap, 2048);
    assert_eq!(StackPool::new(16 << 20).warm_cap, MIN_WARM_STACKS);
}

#[test]
fn slabs_grow_geometrically() {
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let slot = DEFAULT_STACK_SIZE + page_size();
    let first = FIRST_SLAB_BYTES / slot;
    let stacks: Vec<Stack> = (0..first + 1).map(|_| pool.alloc().unwrap()).collect();
    {
        let st = pool.state.lock();
        let lens: Vec<usize> = st.slabs.iter().map(|s| s.len).collect();
        assert_eq!(
            lens,
            vec![first * slot, (2 * FIRST_SLAB_BYTES / slot) * slot]
        );
    }
    for s in stacks {
        pool.free(s);
    }
}

#[test]
fn big_stacks_get_a_slab_each() {
    let size = validate_stack_size(8 << 20).unwrap();
    let pool = StackPool::new(size);
    let a = pool.alloc().unwrap();
    let b = pool.alloc().unwrap();
    assert_eq!(a.size(), size);
    touch_top(&a, 1);
    touch_top(&b, 1);
    assert_eq!(pool.state.lock().slabs.len(), 2);
    pool.free(a);
    pool.free(b);
}

#[test]
fn concurrent_alloc_free_never_shares_a_stack() {
    let pool = StackPool::with_options(MIN_STACK_SIZE, sys::detect_guard_kind(), 8);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let pool = &pool;
            s.spawn(move || {
                let mut held = Vec::new();
                for i in 0..3000usize {
                    let st = pool.alloc().unwrap();
                    touch_top(&st, t);
                    held.push(st);
                    if i % 3 != 0 {
                        let st = held.swap_remove(i % held.len());
                        assert_eq!(read_top(&st), t, "another thread wrote to our stack");
                        pool.free(st);
                    }
                }
                for st in held {
                    assert_eq!(read_top(&st), t, "another thread wrote to our stack");
                    pool.free(st);
                }
            });
        }
    });
    assert_eq!(pool.state.lock().live, 0);
}

#[test]
fn hundred_thousand_live_stacks_take_few_memory_maps() {
    let before = sys::map_count().unwrap();
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let n = 100_000;
    let stacks: Vec<Stack> = (0..n).map(|_| pool.alloc().unwrap()).collect();
    let after = sys::map_count().unwrap();
    let slabs = pool.state.lock().slabs.len();
    eprintln!(
        "100k live stacks: {slabs} slabs, /proc/self/maps {before} -> {after} lines \
         (guard kind {:?})",
        pool.guard_kind
    );
    if pool.guard_kind == GuardKind::Madvise {
        assert!(slabs <= 16, "{slabs} slabs");
        // Other tests running at the same time add a few maps (thread stacks); 100k stacks
        // with mprotect guards would add 200k.
        assert!(after < before + 200, "maps grew from {before} to {after}");
    }
    let tops: HashSet<usize> = stacks.iter().map(|s| s.base().get()).collect();
    assert_eq!(tops.len(), n);
    for s in stacks {
        pool.free(s);
    }
}

#[test]
#[ignore = "stress: 1M live stacks (68 GiB of address space, ~1 s)"]
fn million_live_stacks_on_default_map_count() {
    let before = sys::map_count().unwrap();
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let n = 1_000_000;
    let t = std::time::Instant::now();
    let stacks: Vec<Stack> = (0..n).map(|_| pool.alloc().unwrap()).collect();
    let elapsed = t.elapsed();
    let after = sys::map_count().unwrap();
    let slabs = pool.state.lock().slabs.len();
    eprintln!(
        "1M live stacks in {elapsed:?}: {slabs} slabs, /proc/self/maps {before} -> {after} \
         lines, vm.max_map_count = {:?}",
        sys::max_map_count()
    );
    assert_eq!(pool.guard_kind, GuardKind::Madvise, "needs Linux 6.13+");
    assert!(after < before + 200, "maps grew from {before} to {after}");
    // Every stack is usable: touch each top page, then give them all back.
    for s in &stacks {
        touch_top(s, 1);
    }
    for s in stacks {
        pool.free(s);
    }
    assert_eq!(pool.state.lock().live, 0);
}

/// Runs a goroutine-like coroutine on a fresh `MIN_STACK_SIZE` stack that panics and catches
/// it; returns how many bytes of the stack it used (pattern fill).
fn caught_panic_stack_use() -> usize {
    super::install_overflow_handler();
    let pool = StackPool::new(MIN_STACK_SIZE);
    let stack = pool.alloc().unwrap();
    let (_, lo) = stack.guard_range();
    let top = stack.base().get();
    // Pattern-fill, run, then find the lowest byte the coroutine changed.
    // SAFETY: fills the usable range of a stack we own.
    unsafe { ptr::write_bytes(lo as *mut u8, 0xa5, MIN_STACK_SIZE) };
    let running = stack.running(1);
    let mut co = Coroutine::with_stack(stack, |_: &corosensei::Yielder<(), ()>, ()| {
        std::panic::catch_unwind(|| panic!("a goroutine on a minimum-size stack panics")).is_err()
    });
    // An overflow aborts with "goroutine 1 overflowed its stack" instead of a bare SIGSEGV.
    super::set_running(Some(running));
    let result = co.resume(());
    super::set_running(None);
    assert!(matches!(result, CoroutineResult::Return(true)));
    let stack = co.into_stack();
    // SAFETY: reads the usable range of a stack we own.
    let bytes = unsafe { std::slice::from_raw_parts(lo as *const u8, MIN_STACK_SIZE) };
    let lowest = bytes.iter().position(|&b| b != 0xa5).unwrap();
    pool.free(stack);
    top - (lo + lowest)
}

#[test]
fn panic_fits_in_min_stack() {
    if child::mode().is_some() {
        eprintln!("USED: {}", caught_panic_stack_use());
        return;
    }
    // The default hook prints a backtrace with RUST_BACKTRACE=1 (the deepest case), on the
    // panicking stack.
    for backtrace in ["0", "1"] {
        let out =
            child::run_with_backtrace(&test_path("panic_fits_in_min_stack"), "run", backtrace);
        assert!(out.status.success(), "{:?}\n{}", out.status, out.stderr);
        let used: usize = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("USED: "))
            .expect(&out.stderr)
            .parse()
            .unwrap();
        eprintln!(
            "RUST_BACKTRACE={backtrace}: a caught panic used {used} of {MIN_STACK_SIZE} bytes"
        );
        assert!(
            used + 4096 <= MIN_STACK_SIZE,
            "a caught panic used {used} bytes: MIN_STACK_SIZE leaves under a page of margin"
        );
    }
}

/// Child modes of `guard_pages_fault`: write to a guard page, expecting to die by SIGSEGV.
fn guard_fault_child(mode: &str) {
    let kind = if mode.ends_with("mprotect") {
        GuardKind::Mprotect
    } else {
        sys::detect_guard_kind()
    };
    let pool = StackPool::with_options(DEFAULT_STACK_SIZE, kind, 1);
    let stack = match mode {
        "fresh-madvise" | "fresh-mprotect" => pool.alloc().unwrap(),
        "fresh-from-a-guard-batch" => {
            // The first alloc guarded a batch of slots with one call; this one is the next.
            let _first = pool.alloc().unwrap();
            assert!(!pool.state.lock().fresh.is_empty(), "no guard batch");
            pool.alloc().unwrap()
        }
        "after-dontneed-whole-slot" => {
            let s = pool.alloc().unwrap();
            touch_all(&s, 1);
            let (glo, _) = s.guard_range();
            // SAFETY: the whole slot (guard + usable) of a stack we own and do not use.
            let rc = unsafe {
                libc::madvise(
                    glo as *mut libc::c_void,
                    page_size() + s.size(),
                    libc::MADV_DONTNEED,
                )
            };
            assert_eq!(rc, 0);
            s
        }
        "after-pool-release" => {
            // The second free overflows the warm cap of 1: its pages are released.
            let a = pool.alloc().unwrap();
            let b = pool.alloc().unwrap();
            touch_all(&b, 1);
            let b_top = b.base();
            pool.free(a);
            pool.free(b);
            assert_eq!(pool.state.lock().cold.len(), 1);
            let _a = pool.alloc().unwrap();
            let b = pool.alloc().unwrap();
            assert_eq!(b.base(), b_top);
            b
        }
        other => panic!("unknown mode {other}"),
    };
    let (glo, ghi) = stack.guard_range();
    eprintln!("writing to guard page {glo:#x}..{ghi:#x} ({mode})");
    // SAFETY: deliberately not safe: the write must fault and kill this child process.
    unsafe { ptr::write_volatile((glo + 8) as *mut u8, 1) };
    eprintln!("GUARD DID NOT FAULT");
    std::process::exit(0);
}

#[test]
fn guard_pages_fault() {
    if let Some(mode) = child::mode() {
        guard_fault_child(&mode);
        return;
    }
    let mut modes = vec![
        "fresh-mprotect",
        "after-pool-release",
        "after-dontneed-whole-slot",
    ];
    if sys::detect_guard_kind() == GuardKind::Madvise {
        modes.push("fresh-madvise");
        modes.push("fresh-from-a-guard-batch");
    }
    for mode in modes {
        let out = child::run(&test_path("guard_pages_fault"), mode);
        out.assert_signal(Some(libc::SIGSEGV), mode);
        assert!(
            !out.stderr.contains("GUARD DID NOT FAULT"),
            "{mode}: {}",
            out.stderr
        );
    }
}

#[test]
fn dropping_the_pool_unmaps_its_slabs() {
    if child::mode().is_some() {
        let before = sys::map_count().unwrap();
        let pool = StackPool::new(DEFAULT_STACK_SIZE);
        let s = pool.alloc().unwrap();
        let top = s.base().get();
        touch_top(&s, 1);
        pool.free(s);
        drop(pool);
        // SAFETY: mincore on an address we no longer map only reports ENOMEM.
        let rc = unsafe {
            let mut v = 0u8;
            libc::mincore(
                (top - page_size()) as *mut libc::c_void,
                page_size(),
                &mut v,
            )
        };
        assert_eq!(rc, -1, "slab still mapped after drop");
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ENOMEM)
        );
        assert_eq!(sys::map_count().unwrap(), before);
        return;
    }
    // A child process: no other test may map the address we check in between.
    run_child_ok("dropping_the_pool_unmaps_its_slabs");
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "StackPool dropped with stacks still in use")]
fn dropping_the_pool_with_live_stacks_is_caught() {
    let pool = StackPool::new(MIN_STACK_SIZE);
    // Not freed: the pool must notice when it is dropped.
    let _leaked = pool.alloc().unwrap();
    drop(pool);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "does not belong to this pool")]
fn freeing_into_another_pool_is_caught() {
    let a = StackPool::new(MIN_STACK_SIZE);
    let b = StackPool::new(MIN_STACK_SIZE);
    let stack = a.alloc().unwrap();
    b.free(stack);
}

#[test]
fn address_space_exhaustion_is_a_clear_error() {
    if child::mode().is_some() {
        // Leave 1 MiB of address space; the first slab (4 MiB) cannot fit.
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
        let vm = pages * page_size() as u64;
        let limit = libc::rlimit {
            rlim_cur: vm + (1 << 20),
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: setrlimit reads one valid rlimit struct.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
        let pool = StackPool::new(DEFAULT_STACK_SIZE);
        let err = pool.alloc().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        eprintln!("ERROR: {err}");
        // Nothing is broken: with the limit lifted, the same pool works.
        let unlimited = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &unlimited) }, 0);
        let s = pool.alloc().unwrap();
        touch_all(&s, 1);
        pool.free(s);
        return;
    }
    let out = run_child_ok("address_space_exhaustion_is_a_clear_error");
    let max = sys::max_map_count().unwrap();
    assert_error_mentions(
        &out,
        &[
            "cannot reserve".to_owned(),
            "memory-map limit".to_owned(),
            format!("vm.max_map_count = {max}"),
            "sysctl -w vm.max_map_count=".to_owned(),
            "RLIMIT_AS = ".to_owned(),
            "ulimit -v".to_owned(),
        ],
    );
}

#[test]
fn map_count_exhaustion_with_mprotect_guards_is_a_clear_error() {
    if child::mode().is_some() {
        let max = sys::max_map_count().unwrap() as usize;
        if max > 262_144 {
            eprintln!("SKIPPED: vm.max_map_count = {max} is too large to exhaust in a test");
            return;
        }
        let before = sys::map_count().unwrap();
        let pool = StackPool::with_options(MIN_STACK_SIZE, GuardKind::Mprotect, 16);
        // Reserve now: at the limit, growing the Vec would need a fresh mapping.
        let mut stacks = Vec::with_capacity(max);
        let err = loop {
            match pool.alloc() {
                Ok(s) => stacks.push(s),
                Err(e) => break e,
            }
            assert!(stacks.len() <= max, "no limit hit after {max} stacks");
        };
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        eprintln!("ERROR: {err}");
        eprintln!("COUNT: {} {before} {max}", stacks.len());
        // Each stack costs two maps: its guard and its usable range.
        let expected = (max - before) / 2;
        assert!(
            stacks.len() + 64 >= expected && stacks.len() <= expected + 64,
            "{} stacks, expected about {expected}",
            stacks.len()
        );
        // Touch them all: every handed-out stack is usable at the limit.
        for s in &stacks {
            touch_top(s, 2);
        }
        for s in stacks {
            pool.free(s);
        }
        drop(pool);
        // Unmapping the slabs gave the maps back.
        let pool = StackPool::with_options(MIN_STACK_SIZE, GuardKind::Mprotect, 16);
        let s = pool.alloc().unwrap();
        touch_all(&s, 1);
        pool.free(s);
        return;
    }
    let out = run_child_ok("map_count_exhaustion_with_mprotect_guards_is_a_clear_error");
    if out.stderr.contains("SKIPPED") {
        return;
    }
    let max = sys::max_map_count().unwrap();
    assert_error_mentions(
        &out,
        &[
            "hit the memory-map limit".to_owned(),
            format!("vm.max_map_count = {max}"),
            "MADV_GUARD_INSTALL".to_owned(),
            "sysctl -w vm.max_map_count=".to_owned(),
        ],
    );
}

/// Prints the CPU cost of the pool's operations (`cargo test --release -p gmp-core --lib --
/// --ignored measure_pool_costs --nocapture`).
#[test]
#[ignore = "measurement, prints numbers"]
fn measure_pool_costs() {
    // Thread CPU time, so that other processes on a busy machine do not inflate the numbers.
    struct Instant(std::time::Duration);
    impl Instant {
        fn now() -> Self {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes one timespec through a valid pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            Instant(std::time::Duration::new(
                ts.tv_sec as u64,
                ts.tv_nsec as u32,
            ))
        }
        fn elapsed(&self) -> std::time::Duration {
            Instant::now().0 - self.0
        }
    }
    let pool = StackPool::new(DEFAULT_STACK_SIZE);
    let n = 100_000;

    let t = Instant::now();
    let stacks: Vec<Stack> = (0..n).map(|_| pool.alloc().unwrap()).collect();
    let fresh = t.elapsed() / n as u32;

    let t = Instant::now();
    for s in stacks {
        pool.free(s);
    }
    let free_mixed = t.elapsed() / n as u32;

    // Pooled: alloc + free of the same warm stack.
    let rounds = 1_000_000;
    let t = Instant::now();
    for _ in 0..rounds {
        let s = pool.alloc().unwrap();
        pool.free(std::hint::black_box(s));
    }
    let pooled = t.elapsed() / rounds;

    // Cold free: one touched page released with MADV_DONTNEED per free.
    let cold = StackPool::with_options(DEFAULT_STACK_SIZE, sys::detect_guard_kind(), 0);
    let stacks: Vec<Stack> = (0..10_000).map(|_| cold.alloc().unwrap()).collect();
    for s in &stacks {
        touch_top(s, 1);
    }
    let t = Instant::now();
    for s in stacks {
        cold.free(s);
    }
    let cold_free = t.elapsed() / 10_000;

    // corosensei's DefaultStack for comparison (mmap + mprotect + munmap).
    let t = Instant::now();
    for _ in 0..10_000 {
        drop(std::hint::black_box(
            corosensei::stack::DefaultStack::new(DEFAULT_STACK_SIZE).unwrap(),
        ));
    }
    let default_stack = t.elapsed() / 10_000;

    eprintln!("fresh-slot alloc (guard install):   {fresh:?}");
    eprintln!("free of 100k (1024 warm, rest DONTNEED of untouched pages): {free_mixed:?}");
    eprintln!("pooled alloc+free pair:             {pooled:?}");
    eprintln!("free with DONTNEED of 1 touched page: {cold_free:?}");
    eprintln!("corosensei DefaultStack new+drop:   {default_stack:?}");

    // What waking a copied-out goroutine costs the kernel at least: the first write to a
    // released page (a fault: a page allocated, zeroed and charged to the cgroup). The
    // `wake_parked` row cannot go below this per wake, whatever the scheduler does.
    let stacks: Vec<Stack> = (0..10_000).map(|_| cold.alloc().unwrap()).collect();
    let t = Instant::now();
    for s in &stacks {
        touch_top(s, 1);
    }
    let first_touch = t.elapsed() / 10_000;
    let t = Instant::now();
    for s in &stacks {
        touch_top(s, 1);
    }
    let resident_touch = t.elapsed() / 10_000;
    for s in stacks {
        cold.free(s);
    }
    eprintln!("first write to a released page:     {first_touch:?}");
    eprintln!("write to a resident page:           {resident_touch:?}");
}
