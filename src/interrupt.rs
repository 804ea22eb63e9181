//! Ctrl-C and SIGTERM (CI cancellation, `timeout`, systemd, Kubernetes): the first signal asks
//! every stage to stop starting work, so what was found is still written; a second one exits
//! at once. Every stage that waits on AWS races its wait against `Interrupt::wait`.

use tokio::sync::watch;

/// The signal that stopped the run; its exit code is the shell's 128 + signal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    /// A Lambda invocation's deadline is near: stop while there is time to say so.
    Deadline,
}

impl Signal {
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
            // As timeout(1) exits.
            Signal::Deadline => 124,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Deadline => "the Lambda invocation's time limit",
        }
    }
}

/// Registers the handlers (saying on `ready` whether that worked), records the first signal,
/// exits on the second.
async fn relay_signals(
    sender: watch::Sender<Option<Signal>>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = signal(SignalKind::interrupt())
        .and_then(|interrupt| Ok((interrupt, signal(SignalKind::terminate())?)));
    let (mut interrupt, mut terminate) = match handlers {
        Ok(handlers) => handlers,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(()));
    let first = tokio::select! {
        _ = interrupt.recv() => Signal::Interrupt,
        _ = terminate.recv() => Signal::Terminate,
    };
    eprintln!(
        "certaudit: {} received: stopping and writing what was found (send it again to exit at \
         once)",
        first.name()
    );
    let _ = sender.send(Some(first));
    let second = tokio::select! {
        _ = interrupt.recv() => Signal::Interrupt,
        _ = terminate.recv() => Signal::Terminate,
    };
    eprintln!("certaudit: {} received again: exiting now", second.name());
    std::process::exit(second.exit_code().into());
}

/// Whether (and by which signal) the run was asked to stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt {
    received: watch::Receiver<Option<Signal>>,
}

impl Interrupt {
    /// Start listening for SIGINT and SIGTERM. From now on they no longer kill the process on
    /// their own: the first is recorded, the second exits. The listener has a thread (and a
    /// small runtime) of its own, so it answers whatever the scan's runtime is doing — even
    /// after it has finished, while the report is being written to a stdout that blocks.
    pub fn listen() -> std::io::Result<Interrupt> {
        let (sender, received) = watch::channel(None);
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("certaudit-signals".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => return drop(ready.send(Err(e))),
                };
                runtime.block_on(relay_signals(sender, ready));
            })?;
        started
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the signal listener did not start")))?;
        Ok(Interrupt { received })
    }

    /// An interrupt that never comes (tests, and callers that do not listen).
    pub fn never() -> Interrupt {
        let (sender, received) = watch::channel(None);
        // Kept alive for the process's life so `wait` pends instead of seeing a closed channel.
        std::mem::forget(sender);
        Interrupt { received }
    }

    /// An interrupt that comes at `at`: a Lambda invocation stops its scan before its deadline.
    /// Runs a timer task on the current runtime.
    pub fn at(at: tokio::time::Instant) -> Interrupt {
        let (sender, received) = watch::channel(None);
        tokio::spawn(async move {
            // Ends early when nobody listens any more (the invocation finished in time).
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = sender.closed() => return,
            }
            let _ = sender.send(Some(Signal::Deadline));
            // Kept until the interrupt's receivers are gone, so `wait` never sees it closed.
            sender.closed().await;
        });
        Interrupt { received }
    }

    /// An interrupt whose signal has already come: tests of the stopping paths.
    pub fn already(signal: Signal) -> Interrupt {
        let (sender, received) = watch::channel(Some(signal));
        std::mem::forget(sender);
        Interrupt { received }
    }

    /// The signal received so far, if any.
    pub fn signal(&self) -> Option<Signal> {
        *self.received.borrow()
    }

    /// `work`'s output, or None when a signal comes first (the work is dropped).
    pub async fn or_stop<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::select! {
            out = work => Some(out),
            _ = self.wait() => None,
        }
    }

    /// Resolves when a signal has come (at once if one already has).
    pub async fn wait(&self) -> Signal {
        let mut received = self.received.clone();
        let signal = match received.wait_for(Option::is_some).await {
            Ok(signal) => *signal,
            Err(_) => None,
        };
        match signal {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }
}
