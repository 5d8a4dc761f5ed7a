mod faults;
mod load;
mod perf_auth;
mod run;
mod scenario;
mod sim;
mod support;
mod watch;
