//! The `select!` macro (crossbeam-channel's syntax, Go's semantics).

/// Go's `select` statement, in crossbeam-channel's syntax.
///
/// ```text
/// select! {
///     recv(ch) -> v => { /* v: Option<T>, None if ch is closed */ },
///     send(ch, value) -> res => { /* res: Result<(), SendError<T>> */ },
///     default => { /* no case was ready */ },          // or: default(timeout) => ...
/// }
/// ```
///
/// - A case's channel may be `&Chan<T>`, `&Sender<T>`/`&Receiver<T>`, a `Chan<T>` place, or
///   an `Option` of those references, where `None` is Go's nil channel: a case that never fires.
/// - If several cases are ready, one is chosen at random (Go's fairness); otherwise the select
///   blocks until one is, or takes `default` at once, or `default(timeout)` after `timeout`.
/// - Every channel operand and send value is evaluated once, in source order, before the
///   select waits, even for cases that do not fire. Their borrows end before the chosen body
///   runs, so a body may assign the variable its case named (Go's `ch = nil` idiom).
/// - A send case on a closed channel is ready: it fires with `Err(SendError(value))` (where Go
///   panics), ahead of `default`.
/// - `select! {}` blocks forever (wait reason "select (no cases)").
/// - The value of the `select!` expression is the value of the chosen body.
///
/// ```
/// use gmp_chan::{chan, select};
/// use std::time::Duration;
///
/// let a = chan::<i32>(1);
/// let b = chan::<&str>(1);
/// b.send("hello").unwrap();
///
/// let got = select! {
///     recv(a) -> v => format!("a: {v:?}"),
///     recv(b) -> v => format!("b: {v:?}"),
///     default(Duration::from_secs(1)) => "timeout".to_string(),
/// };
/// assert_eq!(got, r#"b: Some("hello")"#);
///
/// // The nil-channel idiom: stop selecting on a channel once it is closed.
/// let (x, y) = (chan(2), chan(2));
/// x.send(1).unwrap();
/// y.send(2).unwrap();
/// x.close();
/// y.close();
/// let (mut xc, mut yc) = (Some(&x), Some(&y));
/// let mut sum = 0;
/// while xc.is_some() || yc.is_some() {
///     select! {
///         recv(xc) -> v => match v { Some(v) => sum += v, None => xc = None },
///         recv(yc) -> v => match v { Some(v) => sum += v, None => yc = None },
///     }
/// }
/// assert_eq!(sum, 3);
/// ```
#[macro_export]
macro_rules! select {
    () => {
        $crate::__private::block_forever()
    };
    ($($tokens:tt)+) => {
        $crate::__select_internal!(@parse [] [] $($tokens)+)
    };
}

/// The machinery of [`select!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_internal {
    // ---- parsing: normalise cases to (kind (chan) (value) (pat) (body)) ----
    (@parse $cases:tt $def:tt) => {
        $crate::__select_internal!(@outs $cases [] $def)
    };
    (@parse $cases:tt $def:tt , $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cases $def $($rest)*)
    };
    (@parse [$($c:tt)*] $def:tt recv($r:expr) -> $p:pat => $b:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse [$($c)* (recv ($r) () ($p) ($b))] $def $($rest)*)
    };
    (@parse [$($c:tt)*] $def:tt recv($r:expr) -> $p:pat => $b:expr , $($rest:tt)*) => {
        $crate::__select_internal!(@parse [$($c)* (recv ($r) () ($p) ($b))] $def $($rest)*)
    };
    (@parse [$($c:tt)*] $def:tt recv($r:expr) -> $p:pat => $b:expr) => {
        $crate::__select_internal!(@parse [$($c)* (recv ($r) () ($p) ($b))] $def)
    };
    (@parse [$($c:tt)*] $def:tt send($s:expr, $v:expr) -> $p:pat => $b:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse [$($c)* (send ($s) ($v) ($p) ($b))] $def $($rest)*)
    };
    (@parse [$($c:tt)*] $def:tt send($s:expr, $v:expr) -> $p:pat => $b:expr , $($rest:tt)*) => {
        $crate::__select_internal!(@parse [$($c)* (send ($s) ($v) ($p) ($b))] $def $($rest)*)
    };
    (@parse [$($c:tt)*] $def:tt send($s:expr, $v:expr) -> $p:pat => $b:expr) => {
        $crate::__select_internal!(@parse [$($c)* (send ($s) ($v) ($p) ($b))] $def)
    };
    (@parse $cases:tt [] default => $b:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cases [(nonblocking) ($b)] $($rest)*)
    };
    (@parse $cases:tt [] default => $b:expr , $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cases [(nonblocking) ($b)] $($rest)*)
    };
    (@parse $cases:tt [] default => $b:expr) => {
        $crate::__select_internal!(@parse $cases [(nonblocking) ($b)])
    };
    (@parse $cases:tt [] default($t:expr) => $b:block $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cases [(timeout $t) ($b)] $($rest)*)
    };
    (@parse $cases:tt [] default($t:expr) => $b:expr , $($rest:tt)*) => {
        $crate::__select_internal!(@parse $cases [(timeout $t) ($b)] $($rest)*)
    };
    (@parse $cases:tt [] default($t:expr) => $b:expr) => {
        $crate::__select_internal!(@parse $cases [(timeout $t) ($b)])
    };
    (@parse $cases:tt [$($def:tt)+] default $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` case")
    };
    (@parse $cases:tt $def:tt $($rest:tt)+) => {
        ::core::compile_error!(
            "select!: expected `recv(ch) -> v => body`, `send(ch, value) -> res => body`, \
             `default => body` or `default(timeout) => body`"
        )
    };

    // ---- declare one output per case; each expansion step makes fresh `__out`/`__case`
    // identifiers (macro hygiene), carried along in the list ----
    (@outs [($kind:ident $ch:tt $val:tt $p:tt $b:tt) $($rest:tt)*] [$($done:tt)*] $def:tt) => {{
        let __out;
        $crate::__select_internal!(
            @outs [$($rest)*] [$($done)* ($kind $ch $val $p $b __out __case)] $def
        )
    }};
    (@outs [] $all:tt $def:tt) => {{
        {
            $crate::__select_internal!(@cases $all $all $def)
        }
        $crate::__select_internal!(@bodies $all $def)
    }};

    // ---- build the cases in source order, run, move the outputs out ----
    (@cases [(recv ($r:expr) () $p:tt $b:tt $out:ident $case:ident) $($rest:tt)*] $all:tt $def:tt) => {{
        // `let x = &expr;` extends a temporary operand (`recv(time::after(d))`) to the block.
        let __operand = &$r;
        let $case = $crate::__private::RecvCase::new(
            $crate::__private::RecvOperand::recv_chan(__operand)
        );
        $crate::__select_internal!(@cases [$($rest)*] $all $def)
    }};
    (@cases [(send ($s:expr) ($v:expr) $p:tt $b:tt $out:ident $case:ident) $($rest:tt)*] $all:tt $def:tt) => {{
        let __operand = &$s;
        let $case = $crate::__private::SendCase::new(
            $crate::__private::SendOperand::send_chan(__operand),
            $v,
        );
        $crate::__select_internal!(@cases [$($rest)*] $all $def)
    }};
    (@cases [] [$(($kind:ident $ch:tt $val:tt $p:tt $b:tt $out:ident $case:ident))*] $def:tt) => {{
        $crate::__private::run_select(
            &[$($case.as_case()),*],
            $crate::__select_internal!(@mode $def),
        );
        $($out = $case.into_output();)*
    }};

    (@mode []) => { $crate::__private::Mode::Block };
    (@mode [(nonblocking) $b:tt]) => { $crate::__private::Mode::NonBlocking };
    (@mode [(timeout $t:expr) $b:tt]) => { $crate::__private::Mode::timeout($t) };

    // ---- run the chosen body (the one case whose output is `Some`) ----
    (@bodies [($kind:ident $ch:tt $val:tt ($p:pat) ($b:expr) $out:ident $case:ident) $($rest:tt)*] $def:tt) => {
        if let ::core::option::Option::Some(__v) = $out {
            let $p = __v;
            $b
        } else {
            $crate::__select_internal!(@bodies [$($rest)*] $def)
        }
    };
    (@bodies [] []) => {
        ::core::unreachable!("select!: no case fired")
    };
    (@bodies [] [$m:tt ($b:expr)]) => {
        $b
    };
}
