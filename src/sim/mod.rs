//! The SpaceTime simulator (placeholder until the simulator lands).

use crate::cli::SimArgs;

pub fn main(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
