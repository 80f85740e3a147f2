//! Bounded work with errors: `golang.org/x/sync/errgroup` with `SetLimit`. Ten items are
//! processed at most three at a time; item 4 fails, its error cancels the group's context,
//! the items still running or waiting for a slot stop early, and `Wait` returns item 4's
//! error.
//!
//! Go:
//! ```go
//! const (
//!     items   = 10
//!     limit   = 3
//!     work    = 100 * time.Millisecond
//!     failing = 4 // fails after half its work
//! )
//!
//! func process(ctx context.Context, item int) error {
//!     d := work
//!     if item == failing {
//!         d = work / 2
//!     }
//!     select {
//!     case <-time.After(d):
//!         if item == failing {
//!             return fmt.Errorf("item %d: checksum mismatch", item)
//!         }
//!         return nil
//!     case <-ctx.Done():
//!         return fmt.Errorf("item %d: %w", item, ctx.Err())
//!     }
//! }
//!
//! func main() {
//!     g, ctx := errgroup.WithContext(context.Background())
//!     g.SetLimit(limit) // g.Go now waits until fewer than 3 run
//!     var mu sync.Mutex
//!     running, maxRunning := 0, 0
//!     status := make(map[int]string)
//!     for item := 1; item <= items; item++ {
//!         g.Go(func() error {
//!             mu.Lock()
//!             running++
//!             maxRunning = max(maxRunning, running)
//!             mu.Unlock()
//!             err := process(ctx, item)
//!             mu.Lock()
//!             running--
//!             switch {
//!             case err == nil:
//!                 status[item] = "done"
//!             case errors.Is(err, context.Canceled):
//!                 status[item] = "cancelled"
//!             default:
//!                 status[item] = "failed"
//!             }
//!             mu.Unlock()
//!             return err
//!         })
//!     }
//!     err := g.Wait()
//!     fmt.Println("most running at once:", maxRunning)
//!     // ... the items by status ...
//!     fmt.Println("wait:", err)
//!     fmt.Println("the group's context:", ctx.Err(), context.Cause(ctx))
//! }
//! ```
//!
//! # Why the output is the same on every run
//!
//! The limit makes the loop's `go` wait for a slot, so items start in order, each when an
//! earlier one ends. Items 1-3 start at once and end after 100 ms; item 4 takes the first free
//! slot then and fails 50 ms later; items 5 and 6 take the next two slots at about the same
//! time, so the failure, at about 150 ms, cancels them 50 ms before their work would end.
//! Items 7-10 get a slot only after the failure: a failed goroutine's error cancels the
//! context before its slot is released, so they find `ctx.done()` closed at once. Every margin
//! is 50 ms. Of the failed and cancelled items, `wait` returns the first error, item 4's: the
//! cancelled items fail only after the context is cancelled, and that happens at item 4's
//! error. The counter of running items is raised and lowered inside the goroutine, which holds
//! its slot throughout, so it never exceeds the limit; items 1-3 overlap for 100 ms, so its
//! maximum is 3.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{select, time};
use gmp_sync::errgroup::Group;
use gmp_sync::Mutex;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// How many items there are.
pub const ITEMS: u32 = 10;
/// How many may be processed at once (Go: `g.SetLimit(3)`).
pub const LIMIT: usize = 3;
/// How long an item takes.
pub const WORK: Duration = Duration::from_millis(100);
/// The item that fails, after half its work.
pub const FAILING: u32 = 4;

/// Why an item failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemError {
    /// The item itself is bad.
    Bad {
        /// Which one.
        item: u32,
    },
    /// The group's context was done before the item was processed.
    Canceled {
        /// Which one.
        item: u32,
        /// The context's error.
        err: ContextError,
    },
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemError::Bad { item } => write!(f, "item {item}: checksum mismatch"),
            ItemError::Canceled { item, err } => write!(f, "item {item}: {err}"),
        }
    }
}

impl std::error::Error for ItemError {}

/// What became of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never started (no item is left so once `wait` returns).
    Pending,
    /// Processed.
    Done,
    /// Failed on its own.
    Failed,
    /// Stopped by the group's context.
    Cancelled,
}

/// Processes one item, or stops when `ctx` is done (Go: `process`).
fn process(ctx: &Context, item: u32) -> Result<(), ItemError> {
    let work = if item == FAILING { WORK / 2 } else { WORK };
    select! {
        recv(time::after(work)) -> _ => {
            if item == FAILING {
                Err(ItemError::Bad { item })
            } else {
                Ok(())
            }
        }
        recv(ctx.done()) -> _ => Err(ItemError::Canceled {
            item,
            err: ctx.err().unwrap_or(ContextError::Canceled),
        }),
    }
}

/// What a run of the group gave.
#[derive(Debug)]
pub struct Report {
    /// The most items processed at once.
    pub max_running: usize,
    /// What became of each item, item 1 first.
    pub statuses: Vec<Status>,
    /// What `wait` returned.
    pub wait: Result<(), ItemError>,
    /// The group's context's `err()` and `cause()` after `wait`.
    pub ctx_err: (Option<ContextError>, Option<ContextError>),
}

/// Processes the items in an errgroup with a limit of [`LIMIT`] and waits for it. Call it in
/// a goroutine (it parks).
pub fn run_group() -> Report {
    let (g, ctx) = Group::<ItemError>::with_context(&Context::background());
    g.set_limit(LIMIT);
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let statuses = Arc::new(Mutex::new(vec![Status::Pending; ITEMS as usize]));
    for item in 1..=ITEMS {
        let (ctx, running, max_running, statuses) = (
            ctx.clone(),
            running.clone(),
            max_running.clone(),
            statuses.clone(),
        );
        // Waits (parks) until fewer than LIMIT items run.
        g.go(move || {
            let now = running.fetch_add(1, SeqCst) + 1;
            max_running.fetch_max(now, SeqCst);
            let r = process(&ctx, item);
            running.fetch_sub(1, SeqCst);
            statuses.lock()[item as usize - 1] = match &r {
                Ok(()) => Status::Done,
                Err(ItemError::Bad { .. }) => Status::Failed,
                Err(ItemError::Canceled { .. }) => Status::Cancelled,
            };
            r
        });
    }
    let wait = g.wait();
    let statuses = statuses.lock().clone();
    Report {
        max_running: max_running.load(SeqCst),
        statuses,
        wait,
        ctx_err: (ctx.err(), ctx.cause()),
    }
}

/// The items of `statuses` that have `status`, as `1 2 3`, or `none`.
fn items_with(statuses: &[Status], status: Status) -> String {
    let items: Vec<String> = (1..)
        .zip(statuses)
        .filter(|(_, s)| **s == status)
        .map(|(item, _)| format!("{item}"))
        .collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(" ")
    }
}

/// What `main` prints. Call it in a goroutine (it parks).
pub fn lines() -> Vec<String> {
    let report = run_group();
    let (err, cause) = &report.ctx_err;
    let show = |e: &Option<ContextError>| e.as_ref().map_or("none".to_string(), |e| e.to_string());
    let mut lines = vec![
        format!(
            "{ITEMS} items, at most {LIMIT} at a time, {} ms each; item {FAILING} fails after {} ms",
            WORK.as_millis(),
            (WORK / 2).as_millis()
        ),
        format!("most running at once: {}", report.max_running),
    ];
    for (name, status) in [
        ("done", Status::Done),
        ("failed", Status::Failed),
        ("cancelled", Status::Cancelled),
    ] {
        lines.push(format!("{name}: {}", items_with(&report.statuses, status)));
    }
    if report.statuses.contains(&Status::Pending) {
        lines.push(format!(
            "never ran: {}",
            items_with(&report.statuses, Status::Pending)
        ));
    }
    lines.push(match &report.wait {
        Ok(()) => "wait: ok".to_string(),
        Err(e) => format!("wait: {e}"),
    });
    lines.push(format!(
        "the group's context: {} (cause: {})",
        show(err),
        show(cause)
    ));
    lines
}

/// Runs the program: prints what [`lines`] returns.
pub fn main() {
    for line in gmp_core::run(lines) {
        println!("{line}");
    }
}
