//! The data plane's own tokio runtime, apart from the one that runs the management API, the
//! store, the metrics exporter and cluster sync. Sharing one runtime, a management call (the
//! DELETE that revokes an AppCode, say) would be scheduled among every proxied request on the
//! same threads: under load its dozen awaits each waited for a turn behind all busy
//! connections, and a burst of management work stalled API traffic in turn. With two runtimes
//! the operating system shares the cores between them, and `--worker-threads` sizes the data
//! plane alone, like nginx's worker processes beside its master.

use std::future::Future;
use std::io;
use std::thread;
use std::time::Duration;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// How long the runtime waits for tasks still running when it is stopped; the listeners'
/// graceful shutdown has already let in-flight requests finish by then.
const STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// The gateway listeners' runtime, driven by a thread of its own (`apigw-gateway`).
pub struct GatewayRuntime {
    handle: Handle,
    stop: oneshot::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl GatewayRuntime {
    /// Builds the runtime: one worker thread runs the current-thread scheduler (the shape of
    /// one nginx worker: no work stealing, no cross-thread wake-ups), more the multi-thread
    /// one; `None` gives one worker per core. `Some(0)` is refused by the command line.
    pub fn start(worker_threads: Option<usize>) -> io::Result<Self> {
        let mut builder = match worker_threads {
            Some(1) => Builder::new_current_thread(),
            Some(n) => {
                let mut b = Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
            None => Builder::new_multi_thread(),
        };
        let runtime = builder.thread_name("apigw-gateway").enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("apigw-gateway".into())
            .spawn(move || {
                // A current-thread runtime runs its tasks only inside `block_on`: this thread
                // drives it until stopped (or until the owner is dropped on a failed start).
                runtime.block_on(async move {
                    let _ = stopped.await;
                });
                runtime.shutdown_timeout(STOP_TIMEOUT);
            })?;
        Ok(Self {
            handle,
            stop,
            thread,
        })
    }

    /// Runs `work` on the gateway runtime and waits for its result: what it binds and spawns
    /// (listeners, connection tasks, their timers) belongs to that runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> T {
        match self.handle.spawn(work).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the gateway runtime stopped while starting a listener: {e}"),
        }
    }

    /// The runtime's handle, for work that must run where the listeners' requests do (a
    /// debugging call shares their backend connections and timers).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Stops the runtime once its listeners have shut down, and waits for its thread.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
