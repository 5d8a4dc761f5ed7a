//! A fault acting on a `[[host]]`: a [`Fault`] whose preflight and injection are the host agent's, and whose undo
//! record names the host, so the harness's journal knows to reach it.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::client::{ConnectError, HostClient};
use super::ssh::SshTarget;
use crate::agent::protocol::{HostAllow, Request};
use crate::fault::on_host::{self, HostLink};
use crate::fault::{Fault, FaultContext, FaultErrorKind, FaultSpec, Intent, Undo};
use crate::scenario::HostEntry;

/// One host's session, opened at the first preflight of any of its faults and shared by them all; a failure to
/// connect is kept, so it is reported once per fault without reconnecting.
pub struct HostSlot {
    pub target: SshTarget,
    allow: HostAllow,
    client: Mutex<Option<Result<Arc<HostClient>, ConnectError>>>,
}

impl HostSlot {
    pub fn new(host: &HostEntry) -> HostSlot {
        HostSlot { target: SshTarget::new(host), allow: host.allow.clone(), client: Mutex::new(None) }
    }

    fn client(&self) -> Result<Arc<HostClient>, FaultErrorKind> {
        let mut slot = self.client.lock();
        let result = slot.get_or_insert_with(|| match HostClient::connect(self.target.clone(), self.allow.clone()) {
            Ok(client) => {
                let client = Arc::new(client);
                on_host::register(&self.target.name, &(client.clone() as Arc<dyn HostLink>));
                Ok(client)
            }
            Err(e) => Err(e),
        });
        result.clone().map_err(|e| FaultErrorKind::NotFound { what: e.what, fix: e.fix })
    }
}

pub struct HostFault {
    slot: Arc<HostSlot>,
    name: String,
    spec: FaultSpec,
    ttl: Duration,
}

impl HostFault {
    pub fn new(slot: Arc<HostSlot>, name: &str, spec: FaultSpec, ttl: Duration) -> HostFault {
        HostFault { slot, name: name.into(), spec, ttl }
    }

    fn ask(&self, request: &Request) -> Result<String, FaultErrorKind> {
        let host = &self.slot.target.name;
        let reply = self
            .slot
            .client()?
            .request(request)
            .map_err(|e| FaultErrorKind::Command { cmd: format!("the agent on host {host}"), output: e })?;
        if reply.ok {
            Ok(format!("on host {host}: {}", reply.detail))
        } else {
            Err(FaultErrorKind::Command { cmd: format!("the agent on host {host}"), output: reply.detail })
        }
    }
}

impl Fault for HostFault {
    fn kind(&self) -> &'static str {
        self.spec.name()
    }

    fn describe(&self) -> String {
        format!("on host {}: {}", self.slot.target.name, self.spec.build().describe())
    }

    fn preflight(&self, _ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        // The agent's TTL is a backstop behind the harness's own, which normally rolls back first.
        let ttl_ms = (self.ttl + Duration::from_secs(5)).as_millis() as u64;
        self.ask(&Request::Preflight { name: self.name.clone(), spec: self.spec.clone(), ttl_ms }).map(drop)
    }

    fn inject(&self, _ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let (host, fault) = (self.slot.target.name.clone(), self.name.clone());
        intent.record(Undo::OnHost { host, fault, recover: self.slot.target.recover_shell() })?;
        self.ask(&Request::Inject { name: self.name.clone() })
    }
}
