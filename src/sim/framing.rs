//! Stub of the Content-Length framing shared by DAP and LSP (the real one is built by helper "peers").
