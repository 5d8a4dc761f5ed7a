mod faults;
mod load;
mod reports;
mod run;
mod scenario;
mod sim;
mod support;
mod watch;
