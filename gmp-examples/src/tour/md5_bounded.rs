//! Bounded parallelism: the MD5 sums of every file under a directory, read by a fixed number
//! of digester goroutines (the Go blog, "Go Concurrency Patterns: Pipelines and
//! cancellation", 2014, its `bounded.go`). A bad directory is an error, not a panic:
//!
//! ```sh
//! cargo run --release -p gmp-examples --bin tour md5_bounded                 # gmp-examples/src
//! cargo run --release -p gmp-examples --bin tour -- md5_bounded --dir ~/src  # or any directory
//! ```
//!
//! Go:
//! ```go
//! // walkFiles starts a goroutine to walk the directory tree at root and send the
//! // path of each regular file on the string channel.  It sends the result of the
//! // walk on the error channel.  If done is closed, walkFiles abandons its work.
//! func walkFiles(done <-chan struct{}, root string) (<-chan string, <-chan error) {
//!     paths := make(chan string)
//!     errc := make(chan error, 1)
//!     go func() {
//!         // Close the paths channel after Walk returns.
//!         defer close(paths)
//!         // No select needed for this send, since errc is buffered.
//!         errc <- filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
//!             if err != nil {
//!                 return err
//!             }
//!             if !info.Mode().IsRegular() {
//!                 return nil
//!             }
//!             select {
//!             case paths <- path:
//!             case <-done:
//!                 return errors.New("walk canceled")
//!             }
//!             return nil
//!         })
//!     }()
//!     return paths, errc
//! }
//!
//! // A result is the product of reading and summing a file using MD5.
//! type result struct {
//!     path string
//!     sum  [md5.Size]byte
//!     err  error
//! }
//!
//! // digester reads path names from paths and sends digests of the corresponding
//! // files on c until either paths or done is closed.
//! func digester(done <-chan struct{}, paths <-chan string, c chan<- result) {
//!     for path := range paths {
//!         data, err := ioutil.ReadFile(path)
//!         select {
//!         case c <- result{path, md5.Sum(data), err}:
//!         case <-done:
//!             return
//!         }
//!     }
//! }
//!
//! // MD5All reads all the files in the file tree rooted at root and returns a map
//! // from file path to the MD5 sum of the file's contents.  If the directory walk
//! // fails or any read operation fails, MD5All returns an error.  In that case,
//! // MD5All does not wait for inflight read operations to complete.
//! func MD5All(root string) (map[string][md5.Size]byte, error) {
//!     // MD5All closes the done channel when it returns; it may do so before
//!     // receiving all the values from c and errc.
//!     done := make(chan struct{})
//!     defer close(done)
//!
//!     paths, errc := walkFiles(done, root)
//!
//!     // Start a fixed number of goroutines to read and digest files.
//!     c := make(chan result)
//!     var wg sync.WaitGroup
//!     const numDigesters = 20
//!     wg.Add(numDigesters)
//!     for i := 0; i < numDigesters; i++ {
//!         go func() {
//!             digester(done, paths, c)
//!             wg.Done()
//!         }()
//!     }
//!     go func() {
//!         wg.Wait()
//!         close(c)
//!     }()
//!
//!     m := make(map[string][md5.Size]byte)
//!     for r := range c {
//!         if r.err != nil {
//!             return nil, r.err
//!         }
//!         m[r.path] = r.sum
//!     }
//!     // Check whether the Walk failed.
//!     if err := <-errc; err != nil {
//!         return nil, err
//!     }
//!     return m, nil
//! }
//!
//! func main() {
//!     // Calculate the MD5 sum of all files under the specified directory,
//!     // then print the results sorted by path name.
//!     m, err := MD5All(os.Args[1])
//!     if err != nil {
//!         fmt.Println(err)
//!         return
//!     }
//!     var paths []string
//!     for path := range m {
//!         paths = append(paths, path)
//!     }
//!     sort.Strings(paths)
//!     for _, path := range paths {
//!         fmt.Printf("%x  %s\n", m[path], path)
//!     }
//! }
//! ```
//!
//! # Cancellation: a `Context` for the `done` channel
//!
//! The blog's `done` channel is what Go's `context` package later made standard, and modern
//! Go would write `MD5All(ctx context.Context, root string)` with
//! `ctx, cancel := context.WithCancel(ctx); defer cancel()` in place of
//! `done := make(chan struct{}); defer close(done)`, and `case <-ctx.Done():` in the selects.
//! The port does that: [`md5_all`] derives a context with [`Context::with_cancel`] and holds
//! its [`CancelFn`](gmp_chan::context::CancelFn), which cancels when dropped, so however
//! `md5_all` returns, the walker and the digesters see `ctx.done()` closed.
//!
//! That is what makes returning at the **first read error** safe. `md5_all` returns at once,
//! without waiting for the reads in flight (Go: "MD5All does not wait for inflight read
//! operations to complete"), and nobody receives on the results channel any more. A digester
//! that finishes its read then finds its `send` blocked and `ctx.done()` closed, so it
//! returns; the walker's next `send` of a path meets the closed `done` too, so the walk stops
//! and closes `paths`, which ends the digesters waiting for a path. Every goroutine of the
//! pipeline ends, none is left blocked on a send for ever (which is what would happen without
//! the `done` cases: a goroutine leak). [`main`] shows it after the sums: it runs the
//! pipeline again with a reader that fails on one file, prints the error, and counts the
//! goroutines left once they have had time to end: 0.
//!
//! If the caller's own context is cancelled, the digesters stop early and `md5_all` returns
//! [`Md5Error::Canceled`] rather than a partial map (a case Go's `MD5All`, which takes no
//! context, does not have).
//!
//! # Other differences from Go
//!
//! - Paths are printed relative to the directory, so that the output is the same wherever the
//!   directory is (`md5sum -c` run in the directory checks it). They are sorted by their
//!   bytes, as Go's `sort.Strings` sorts them.
//! - A bad directory prints `md5_bounded: lstat DIR: ...` on stderr and exits with status 1
//!   (Go prints the error on stdout and exits 0).
//! - The walk is `filepath.Walk`'s (entries in lexical order, symbolic links not followed,
//!   only regular files sent), with its pending directories in a vector rather than on the
//!   goroutine's stack. Its file system calls and the file reads block the thread, so they run
//!   inside [`gmp_core::syscall`]: the runtime hands the P to another thread while they block.

use gmp_chan::context::{Context, ContextError};
use gmp_chan::{chan, select, Receiver, Sender};
use gmp_core::{go, syscall};
use gmp_sync::WaitGroup;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How many goroutines read and digest files (Go: `numDigesters`).
pub const NUM_DIGESTERS: usize = 20;

/// An MD5 sum (Go: `[md5.Size]byte`).
pub type Sum = [u8; 16];

/// Reads a file: [`fs::read`] in [`md5_all`]; a test or the cancellation demo passes one that
/// fails. Called inside [`gmp_core::syscall`], so it may block its thread.
pub type ReadFile = Arc<dyn Fn(&Path) -> io::Result<Vec<u8>> + Send + Sync>;

/// Why [`md5_all`] failed.
#[derive(Debug)]
pub enum Md5Error {
    /// A file system call failed: `lstat` or `readdir` in the walk, `read` in a digester
    /// (Go's `*PathError`, printed the same way: `op path: error`).
    Io {
        /// The call: `lstat`, `readdir` or `read`.
        op: &'static str,
        /// The path it was given.
        path: PathBuf,
        /// Its error.
        source: io::Error,
    },
    /// The caller's context was done before every file was summed (Go's `walk canceled`,
    /// with the context's error).
    Canceled(ContextError),
}

impl fmt::Display for Md5Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Md5Error::Io { op, path, source } => write!(f, "{op} {}: {source}", path.display()),
            Md5Error::Canceled(e) => write!(f, "walk canceled: {e}"),
        }
    }
}

impl std::error::Error for Md5Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Md5Error::Io { source, .. } => Some(source),
            Md5Error::Canceled(e) => Some(e),
        }
    }
}

fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Md5Error + 'a {
    move |source| Md5Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The product of reading and summing one file (Go: `result`).
struct Summed {
    path: PathBuf,
    sum: io::Result<Sum>,
}

/// Starts a goroutine that walks the tree at `root` and sends the path of each regular file
/// on the returned channel, which it closes when the walk ends; the walk's result comes on
/// the other, buffered, channel. The walk stops early once `ctx` is done (Go: `walkFiles`).
fn walk_files(ctx: &Context, root: PathBuf) -> (Receiver<PathBuf>, Receiver<Result<(), Md5Error>>) {
    let paths = chan::<PathBuf>(0);
    let errc = chan::<Result<(), Md5Error>>(1);
    let (ctx, paths_tx, errc_tx) = (ctx.clone(), paths.sender(), errc.sender());
    go(move || {
        // No select needed for this send, since errc is buffered.
        let _ = errc_tx.send(walk(&ctx, &root, &paths_tx));
        paths_tx.close(); // Go: defer close(paths)
    });
    (paths.receiver(), errc.receiver())
}

/// Go's `filepath.Walk` with `walkFiles`'s callback: depth first, each directory's entries in
/// lexical order, symbolic links not followed, regular files sent on `paths`.
fn walk(ctx: &Context, root: &Path, paths: &Sender<PathBuf>) -> Result<(), Md5Error> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = syscall(|| fs::symlink_metadata(&path)).map_err(io_error("lstat", &path))?;
        if meta.is_dir() {
            let mut entries = syscall(|| {
                fs::read_dir(&path)?
                    .map(|entry| entry.map(|e| e.path()))
                    .collect::<io::Result<Vec<PathBuf>>>()
            })
            .map_err(io_error("readdir", &path))?;
            entries.sort();
            pending.extend(entries.into_iter().rev()); // popped in lexical order
        } else if meta.is_file() {
            select! {
                send(paths, path) -> _ => {}
                recv(ctx.done()) -> _ => {
                    return Err(Md5Error::Canceled(ctx.err().unwrap_or(ContextError::Canceled)));
                }
            }
        }
    }
    Ok(())
}

/// Reads paths from `paths` and sends the digests of the files on `c`, until `paths` is
/// closed or `ctx` is done (Go: `digester`).
fn digester(ctx: &Context, paths: &Receiver<PathBuf>, c: &Sender<Summed>, read: &ReadFile) {
    for path in paths {
        let sum = syscall(|| read(&path)).map(|data| Md5::digest(&data).into());
        select! {
            send(c, Summed { path, sum }) -> _ => {}
            recv(ctx.done()) -> _ => return,
        }
    }
}

/// The MD5 sums of every regular file under `root` (or of `root`, if it is one), by path
/// (Go: `MD5All`, with a context). Returns the first error of the walk or of a read,
/// without waiting for the reads in flight, and cancels the rest of the work.
///
/// # Errors
/// [`Md5Error::Io`] for the first failed walk or read, [`Md5Error::Canceled`] if `ctx` is
/// done first.
pub fn md5_all(ctx: &Context, root: &Path) -> Result<BTreeMap<PathBuf, Sum>, Md5Error> {
    md5_all_with(ctx, root, Arc::new(|path: &Path| fs::read(path)))
}

/// [`md5_all`], reading the files with `read`.
///
/// # Errors
/// As [`md5_all`].
pub fn md5_all_with(
    ctx: &Context,
    root: &Path,
    read: ReadFile,
) -> Result<BTreeMap<PathBuf, Sum>, Md5Error> {
    // Go: ctx, cancel := context.WithCancel(ctx); defer cancel(). However this function
    // returns, `_cancel`'s drop closes `ctx.done()`, which stops the walker and digesters.
    let (ctx, _cancel) = ctx.with_cancel();

    let (paths, errc) = walk_files(&ctx, root.to_path_buf());

    // Start a fixed number of goroutines to read and digest files.
    let c = chan::<Summed>(0);
    let wg = WaitGroup::new();
    for _ in 0..NUM_DIGESTERS {
        let (ctx, paths, tx, read) = (ctx.clone(), paths.clone(), c.sender(), read.clone());
        drop(wg.go(move || digester(&ctx, &paths, &tx, &read)));
    }
    {
        let (wg, tx) = (wg.clone(), c.sender());
        go(move || {
            wg.wait();
            tx.close();
        });
    }

    let mut m = BTreeMap::new();
    for r in c.iter() {
        let sum = r.sum.map_err(io_error("read", &r.path))?; // the first read error
        m.insert(r.path, sum);
    }
    // The digesters also stop when the caller's context is done: then `m` is partial.
    if let Some(e) = ctx.err() {
        return Err(Md5Error::Canceled(e));
    }
    // Check whether the walk failed.
    errc.recv()
        .expect("the walker sends its result before it closes paths")?;
    Ok(m)
}

/// `sum` in lowercase hex (Go: `%x`).
pub fn hex(sum: &Sum) -> String {
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lines `main` prints for the sums: `md5sum  path`, the path relative to `root`,
/// sorted by path as Go's `sort.Strings` sorts.
pub fn sum_lines(root: &Path, m: &BTreeMap<PathBuf, Sum>) -> Vec<String> {
    let mut lines: Vec<(String, &Sum)> = m
        .iter()
        .map(|(path, sum)| {
            let rel = path.strip_prefix(root).unwrap_or(path);
            let rel = if rel.as_os_str().is_empty() {
                path
            } else {
                rel
            };
            (rel.display().to_string(), sum)
        })
        .collect();
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
        .into_iter()
        .map(|(path, sum)| format!("{}  {path}", hex(sum)))
        .collect()
}

/// Waits up to `limit` for the runtime's goroutines to drop back to `baseline`; returns how
/// many more there still are.
fn goroutines_left(baseline: usize, limit: Duration) -> usize {
    let deadline = gmp_core::time::now() + limit;
    loop {
        let left = gmp_core::num_goroutine().saturating_sub(baseline);
        if left == 0 || gmp_core::time::now() >= deadline {
            return left;
        }
        gmp_core::sleep(Duration::from_millis(1));
    }
}

/// The cancellation demo: [`md5_all`] on `root` again, with the read of `failing` made to
/// fail; the lines say what it returned and how many of its goroutines were left after.
fn cancellation_lines(root: &Path, failing: &Path) -> Vec<String> {
    let failing_path = failing.to_path_buf();
    let read: ReadFile = Arc::new(move |path: &Path| {
        if path == failing_path {
            return Err(io::Error::other("simulated read error"));
        }
        fs::read(path)
    });
    let baseline = gmp_core::num_goroutine();
    let got = md5_all_with(&Context::background(), root, read);
    let left = goroutines_left(baseline, Duration::from_secs(1));
    vec![
        format!(
            "cancellation: when reading {} fails, md5_all returns at once:",
            failing.strip_prefix(root).unwrap_or(failing).display()
        ),
        match got {
            Ok(m) => format!("  unexpected success ({} files)", m.len()),
            Err(e) => format!("  error: {e}"),
        },
        format!("  walker and {NUM_DIGESTERS} digesters cancelled; goroutines left: {left}"),
    ]
}

/// What `main` prints: the sums, then the cancellation demo.
///
/// # Errors
/// What [`md5_all`] returns for `root`.
pub fn lines(root: &Path) -> Result<Vec<String>, Md5Error> {
    let m = md5_all(&Context::background(), root)?;
    let mut lines = vec![format!(
        "MD5 sums of the {} files under {}, {NUM_DIGESTERS} digesters:",
        m.len(),
        root.display()
    )];
    lines.extend(sum_lines(root, &m));
    if let Some(first) = m.keys().next() {
        lines.extend(cancellation_lines(root, first));
    }
    Ok(lines)
}

/// The directory to sum: `--dir DIR` (or `--dir=DIR`) among the arguments, else the
/// gmp-examples sources. Other arguments (the tour's program names, other programs' flags)
/// are ignored.
fn dir_flag() -> Result<PathBuf, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--dir=") {
            return Ok(PathBuf::from(v));
        }
        if a == "--dir" {
            return it
                .next()
                .map(PathBuf::from)
                .ok_or_else(|| "--dir needs a directory".to_string());
        }
    }
    Ok(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// Runs the program: the sums of the files under `--dir DIR` (default: gmp-examples' `src`),
/// then the cancellation demo. A bad directory prints the error and exits with status 1; a
/// `--dir` with no directory exits with status 2.
pub fn main() {
    let root = match dir_flag() {
        Ok(root) => root,
        Err(usage) => {
            eprintln!("md5_bounded: {usage}");
            std::process::exit(2);
        }
    };
    match gmp_core::run(move || lines(&root)) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
        }
        Err(e) => {
            eprintln!("md5_bounded: {e}");
            std::process::exit(1);
        }
    }
}
