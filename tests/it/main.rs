mod faults;
mod scenario;
mod sim;
mod support;
mod watch;
