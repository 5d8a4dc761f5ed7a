mod scenario;
mod watch;
