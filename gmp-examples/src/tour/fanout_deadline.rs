//! A request fan-out with a deadline: Rob Pike's "Google Search 3.0" ("Go Concurrency
//! Patterns", 2012) rewritten with a `context`, as Go has written it since 1.7. A search asks
//! three backends at once, each through two replicas; the first replica to answer wins and
//! the other is cancelled; a backend with no answer by the deadline reports
//! `context deadline exceeded`.
//!
//! The original, with `time.After` for the deadline and nothing to stop the losers:
//! ```go
//! var (
//!     Web1   = fakeSearch("web")
//!     Web2   = fakeSearch("web")
//!     Image1 = fakeSearch("image")
//!     Image2 = fakeSearch("image")
//!     Video1 = fakeSearch("video")
//!     Video2 = fakeSearch("video")
//! )
//!
//! type Result string
//! type Search func(query string) Result
//!
//! func fakeSearch(kind string) Search {
//!     return func(query string) Result {
//!         time.Sleep(time.Duration(rand.Intn(100)) * time.Millisecond)
//!         return Result(fmt.Sprintf("%s result for %q\n", kind, query))
//!     }
//! }
//!
//! func First(query string, replicas ...Search) Result {
//!     c := make(chan Result)
//!     searchReplica := func(i int) { c <- replicas[i](query) }
//!     for i := range replicas {
//!         go searchReplica(i)
//!     }
//!     return <-c
//! }
//!
//! func Google(query string) (results []Result) {
//!     c := make(chan Result)
//!     go func() { c <- First(query, Web1, Web2) }()
//!     go func() { c <- First(query, Image1, Image2) }()
//!     go func() { c <- First(query, Video1, Video2) }()
//!     timeout := time.After(80 * time.Millisecond)
//!     for i := 0; i < 3; i++ {
//!         select {
//!         case result := <-c:
//!             results = append(results, result)
//!         case <-timeout:
//!             fmt.Println("timed out")
//!             return
//!         }
//!     }
//!     return
//! }
//! ```
//!
//! With a context, the version this module ports. The latencies are fixed rather than random,
//! well apart from the 100 ms deadline (10 ms answers, 500 ms ones), so the output is the same
//! on every run, on a loaded machine too:
//! ```go
//! type Replica struct {
//!     Name    string
//!     Latency time.Duration
//! }
//!
//! // search asks one replica. Its server takes its latency to answer and does not know the
//! // client's context; the client stops waiting when the context is done.
//! func search(ctx context.Context, kind string, r Replica, query string) (string, error) {
//!     reply := make(chan string, 1) // buffered: the server may answer after we left
//!     go func() {
//!         time.Sleep(r.Latency)
//!         reply <- fmt.Sprintf("%s result for %q", kind, query)
//!     }()
//!     select {
//!     case text := <-reply:
//!         return text, nil
//!     case <-ctx.Done():
//!         return "", ctx.Err()
//!     }
//! }
//!
//! // First asks every replica at once and returns the first answer; that answer cancels the
//! // others. It waits for them (they stop at once) to report what each did.
//! func First(ctx context.Context, kind string, query string, replicas ...Replica) (string, []error) {
//!     ctx, cancel := context.WithCancel(ctx)
//!     defer cancel()
//!     type answer struct {
//!         i    int
//!         text string
//!         err  error
//!     }
//!     c := make(chan answer, len(replicas))
//!     for i, r := range replicas {
//!         go func() {
//!             text, err := search(ctx, kind, r, query)
//!             c <- answer{i, text, err}
//!         }()
//!     }
//!     first, errs := "", make([]error, len(replicas))
//!     for range replicas {
//!         a := <-c
//!         errs[a.i] = a.err
//!         if a.err == nil && first == "" {
//!             first = a.text
//!             cancel() // the slower replicas stop now
//!         }
//!     }
//!     return first, errs
//! }
//!
//! func Google(query string) {
//!     ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
//!     defer cancel()
//!     // ... one goroutine per backend calls First(ctx, ...); every First returns by the
//!     // deadline, so Google waits for all three and prints them in backend order.
//! }
//! ```
//!
//! The deadline is one context for the whole search; each backend's `First` derives a child
//! of it to cancel its losing replica. So a loser stops with `context canceled` when its
//! sibling answers, and every replica still waiting at the deadline stops with `context
//! deadline exceeded`, whichever backend it serves. Nobody waits past the deadline: the
//! search returns after 100 ms, not after the slow replicas' 500 ms.
//!
//! `First` and `Google` run their goroutines in a [`gmp_core::scope`], which borrows the query
//! and the context and joins them before returning (Go would use a `sync.WaitGroup`); that is
//! safe only because every replica honours `ctx.done()`: a replica that ignored it would hold
//! the whole search for its full latency.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select};
use gmp_core::{go, sleep};
use std::time::Duration;

/// How long a fast replica takes to answer.
pub const FAST: Duration = Duration::from_millis(10);
/// How long a slow replica takes: well past the deadline, so it never answers in time.
pub const SLOW: Duration = Duration::from_millis(500);
/// The search's deadline (Go's original: 80 ms, with random latencies up to 100 ms).
pub const DEADLINE: Duration = Duration::from_millis(100);

/// One replica of a backend: its name and how long its server takes to answer.
#[derive(Debug, Clone, Copy)]
pub struct Replica {
    /// Its name, as printed.
    pub name: &'static str,
    /// Its server's simulated latency.
    pub latency: Duration,
}

/// A backend: what kind of results it gives, and its replicas.
#[derive(Debug, Clone, Copy)]
pub struct Backend {
    /// `web`, `image`, `video`.
    pub kind: &'static str,
    /// Asked all at once; the first answer wins.
    pub replicas: &'static [Replica],
}

/// The three backends of the search: web answers from its second replica, image from its
/// first, video from neither before the deadline.
pub const BACKENDS: &[Backend] = &[
    Backend {
        kind: "web",
        replicas: &[
            Replica {
                name: "web1",
                latency: SLOW,
            },
            Replica {
                name: "web2",
                latency: FAST,
            },
        ],
    },
    Backend {
        kind: "image",
        replicas: &[
            Replica {
                name: "image1",
                latency: FAST,
            },
            Replica {
                name: "image2",
                latency: SLOW,
            },
        ],
    },
    Backend {
        kind: "video",
        replicas: &[
            Replica {
                name: "video1",
                latency: SLOW,
            },
            Replica {
                name: "video2",
                latency: SLOW,
            },
        ],
    },
];

/// What one backend's [`first`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendResult {
    /// The first answer, and the replica that gave it; else why none came.
    pub first: Result<(&'static str, String), ContextError>,
    /// What each replica did, in the backend's order: its answer or why it stopped.
    pub replicas: Vec<Result<String, ContextError>>,
}

/// Asks one replica (Go: `search`): its server, a goroutine of its own, takes the replica's
/// latency to answer and knows nothing of `ctx`; the caller stops waiting when `ctx` is done.
fn search(
    ctx: &Context,
    kind: &str,
    replica: &Replica,
    query: &str,
) -> Result<String, ContextError> {
    // Buffered, so that the server can answer (and end) after the caller stopped waiting.
    let reply = chan::<String>(1);
    let (tx, latency) = (reply.sender(), replica.latency);
    let text = format!("{kind} result for {query:?}");
    go(move || {
        sleep(latency);
        let _ = tx.send(text);
    });
    select! {
        recv(reply) -> text => text.ok_or(ContextError::Canceled),
        recv(ctx.done()) -> _ => Err(ctx.err().unwrap_or(ContextError::Canceled)),
    }
}

/// Asks every replica of `backend` at once; the first answer cancels the others (Go:
/// `First`, with a context). Waits for all of them, which stop at once when cancelled, to
/// report what each did.
pub fn first(ctx: &Context, query: &str, backend: &Backend) -> BackendResult {
    let (ctx, cancel) = ctx.with_cancel(); // Go: ctx, cancel := context.WithCancel(ctx)
    let n = backend.replicas.len();
    let answers = chan::<(usize, Result<String, ContextError>)>(n);
    let mut replicas: Vec<Option<Result<String, ContextError>>> = vec![None; n];
    let mut winner = None;
    gmp_core::scope(|s| {
        for (i, replica) in backend.replicas.iter().enumerate() {
            let (ctx, tx) = (&ctx, answers.sender());
            s.go(move || {
                let _ = tx.send((i, search(ctx, backend.kind, replica, query)));
            });
        }
        for _ in 0..n {
            let (i, answer) = answers.recv().expect("every replica answers");
            if answer.is_ok() && winner.is_none() {
                winner = Some(i);
                cancel.cancel(); // the slower replicas stop now
            }
            replicas[i] = Some(answer);
        }
    });
    let replicas: Vec<_> = replicas
        .into_iter()
        .map(|r| r.expect("every replica reported"))
        .collect();
    let first = match winner {
        Some(i) => Ok((
            backend.replicas[i].name,
            replicas[i].clone().expect("the winner answered"),
        )),
        // No answer: why the last replica stopped (they all stopped for the same reason).
        None => Err(replicas
            .iter()
            .rev()
            .find_map(|r| r.clone().err())
            .unwrap_or(ContextError::Canceled)),
    };
    BackendResult { first, replicas }
}

/// Searches every backend at once, all under one deadline `timeout` from now (Go: `Google`,
/// with `context.WithTimeout`); returns their results in `backends`' order.
pub fn google(query: &str, timeout: Duration, backends: &[Backend]) -> Vec<BackendResult> {
    let (ctx, _cancel) = Context::background().with_timeout(timeout);
    gmp_core::scope(|s| {
        let searches: Vec<_> = backends
            .iter()
            .map(|backend| s.go(|| first(&ctx, query, backend)))
            .collect();
        searches
            .into_iter()
            .map(|h| h.join().expect("a backend's search does not panic"))
            .collect()
    })
}

/// What `main` prints: one line per backend, one per replica, and whether the search kept to
/// its deadline. Call it in a goroutine (it parks).
pub fn lines() -> Vec<String> {
    let query = "golang";
    let start = gmp_core::time::now();
    let results = google(query, DEADLINE, BACKENDS);
    let elapsed = gmp_core::time::now() - start;

    let mut lines = vec![format!(
        "search {query:?}: {} backends, 2 replicas each, deadline {} ms",
        BACKENDS.len(),
        DEADLINE.as_millis()
    )];
    for (backend, r) in BACKENDS.iter().zip(&results) {
        lines.push(match &r.first {
            Ok((replica, text)) => format!("{}: {text} (from {replica})", backend.kind),
            Err(e) => format!("{}: {e}", backend.kind),
        });
    }
    for (backend, r) in BACKENDS.iter().zip(&results) {
        for (replica, outcome) in backend.replicas.iter().zip(&r.replicas) {
            let what = match outcome {
                Ok(_) => "answered".to_string(),
                Err(e) => e.to_string(),
            };
            lines.push(format!(
                "  {} ({} ms): {what}",
                replica.name,
                replica.latency.as_millis()
            ));
        }
    }
    lines.push(format!(
        "waited for the deadline, not for the slow replicas ({} ms): {}",
        SLOW.as_millis(),
        elapsed >= DEADLINE && elapsed < SLOW
    ));
    lines
}

/// Runs the program: prints what [`lines`] returns.
pub fn main() {
    for line in gmp_core::run(lines) {
        println!("{line}");
    }
}
