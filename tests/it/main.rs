mod support;

mod sim;
