mod faults;
mod load;
mod run;
mod scenario;
mod sim;
mod support;
mod watch;
