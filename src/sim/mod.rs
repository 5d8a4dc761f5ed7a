//! The SpaceTime simulator (placeholder until the simulator lands).

pub mod dap;
mod framing;
pub mod link;
pub mod lsp;

use crate::cli::SimArgs;

pub fn main(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
