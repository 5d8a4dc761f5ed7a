//! The engine's main loop: one thread ticking at 90 Hz that handles, inside each frame, every request queued since
//! the previous frame, as Godot's `_process()` polls the bridge's sockets.
//!
//! Consequences kept on purpose: a request waits for the next frame (about 11 ms at rest); slow request work or the
//! frame-work knob lengthens the frame and lowers the FPS that telemetry reports, since FPS is measured from real
//! frame start times. The loop runs on its own OS thread, not on the async runtime, so busy frames never starve
//! socket I/O. Requests that wait on DAP/LSP are dispatched from the frame and answered when the reply arrives,
//! as the bridge's `pending_responses` do; they never hold the frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::routes::{self, ApiRequest, Reply};
use super::telemetry::{FrameStats, Hub};
use super::{Engine, knobs::Knobs};

pub const TARGET_FPS: f64 = 90.0;
/// How often FPS is computed and published (the telemetry `fps` cadence).
const STATS_WINDOW: Duration = Duration::from_millis(500);
/// How far behind schedule the loop may fall and still catch up: absorbs scheduling hiccups on a busy host without
/// hiding frames that are slow themselves.
const MAX_CATCH_UP_FRAMES: u32 = 4;

/// One queued request and where its reply goes.
pub struct Job {
    pub request: ApiRequest,
    pub reply: oneshot::Sender<Reply>,
}

/// Start the main-loop thread; it stops when every sender of the returned queue is gone.
pub fn start(mut engine: Engine) -> anyhow::Result<mpsc::UnboundedSender<Job>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new().name("sim-main-loop".into()).spawn(move || run(&mut engine, rx))?;
    Ok(tx)
}

fn run(engine: &mut Engine, mut rx: mpsc::UnboundedReceiver<Job>) {
    let period = Duration::from_secs_f64(1.0 / TARGET_FPS);
    let mut window = Window::new(Instant::now());
    let mut next = Instant::now();
    loop {
        let start = Instant::now();
        engine.hub.flush_deferred();
        if let Some(auth) = &mut engine.auth {
            auth.refresh();
        }
        loop {
            match rx.try_recv() {
                Ok(job) => {
                    engine.knobs.leak_for_request();
                    routes::handle(engine, job.request, job.reply);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        busy_work(&engine.knobs);
        window.frame(start, start.elapsed(), &engine.hub);
        next += period;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > period * MAX_CATCH_UP_FRAMES {
            // Far behind (slow frames): start from now rather than bursting frames, so slow frames show as low FPS.
            next = now;
        }
        // Slightly behind (the OS ran another thread): the next frames start at once and the rate catches up.
    }
}

/// The frame-work knob: spin (not sleep), so the work costs CPU like real game logic.
fn busy_work(knobs: &Knobs) {
    let work = knobs.frame_work();
    if work.is_zero() {
        return;
    }
    let until = Instant::now() + work;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Frame counts over the current stats window.
struct Window {
    since: Instant,
    frames: u32,
    busy: Duration,
}

impl Window {
    fn new(since: Instant) -> Window {
        Window { since, frames: 0, busy: Duration::ZERO }
    }

    /// Count a finished frame; when the window is over, publish the figures of the frames that started in it.
    fn frame(&mut self, start: Instant, busy: Duration, hub: &Arc<Hub>) {
        let elapsed = start.duration_since(self.since);
        if elapsed >= STATS_WINDOW && self.frames > 0 {
            let frames = f64::from(self.frames);
            let secs = elapsed.as_secs_f64();
            hub.publish_stats(FrameStats {
                fps: frames / secs,
                frame_time_ms: secs * 1000.0 / frames,
                physics_time_ms: self.busy.as_secs_f64() * 1000.0 / frames,
            });
            *self = Window::new(start);
        }
        self.frames += 1;
        self.busy += busy;
    }
}
