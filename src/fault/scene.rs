//! `scene`: break a scene file of the Godot project the target serves (runbook Incident 5, scenarios A-C): rename it
//! away (`/scene/load` answers 404), overwrite it with garbage (500, corrupt), or remove one of its dependencies (500
//! naming the dependency). Rollback puts back the original bytes and mode and checks the checksum ([`restore`]).
//!
//! The project is the embedded simulator's, or, for a real deployment on this host, the `project_dir` the fault
//! names (which must be inside `[allow] paths`): a real Godot project is just files, so the same change breaks it the
//! same way.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, restore};

/// What replaces a scene for `garbage`: no `[gd_scene]` header, so a loader rejects it as corrupt.
const GARBAGE: &[u8] = b"\x7fgarbage written by spacetime-drill (scene fault)\n";

/// `[fault.scene]`: break a scene file in the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SceneSpec {
    /// The scene, as a `res://....tscn` path.
    pub scene: String,
    /// How the scene is broken, which decides the status loading it returns.
    pub action: SceneAction,
    /// With `remove_dependency`: which `res://` dependency to remove (one the scene names).
    #[serde(default)]
    pub dependency: Option<String>,
    /// The project directory (`res://` root) of a real deployment on this host; omitted = the embedded simulator's
    /// project. An explicit directory must be inside an `[allow] paths` entry.
    #[serde(default)]
    pub project_dir: Option<PathBuf>,
}

/// What `scene` does to the file; each is undone by putting the original bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SceneAction {
    /// Rename the scene away (404).
    Rename,
    /// Overwrite it with garbage (500).
    Garbage,
    /// Remove one of its dependencies (500 naming it).
    RemoveDependency,
}

impl SceneSpec {
    /// The file the fault changes, checked: it exists, and the blast radius allows it.
    fn resolve(&self, ctx: &FaultContext) -> Result<PathBuf, FaultErrorKind> {
        ctx.require_local()?;
        let project = match &self.project_dir {
            Some(p) => p.clone(),
            None => ctx.require_sim("scene without `project_dir`")?.project_dir.clone(),
        };
        let file = |res: &str| -> Result<PathBuf, FaultErrorKind> {
            let rel = res.strip_prefix("res://").filter(|r| !r.is_empty() && !r.contains("..")).ok_or_else(|| {
                FaultErrorKind::NotFound {
                    what: format!("\"{res}\" is not a res:// path"),
                    fix: "write it as res://<dir>/<name>, as the project names it".into(),
                }
            })?;
            let path = project.join(rel);
            path.canonicalize().map_err(|e| FaultErrorKind::NotFound {
                what: format!("{res} ({}) cannot be found: {e}", path.display()),
                fix: "check the scene path and the project directory".into(),
            })
        };
        let scene = file(&self.scene)?;
        let target = match (self.action, &self.dependency) {
            (SceneAction::RemoveDependency, Some(dep)) => {
                let text = std::fs::read_to_string(&scene).map_err(FaultErrorKind::io("reading the scene"))?;
                if !text.contains(&format!("path=\"{dep}\"")) {
                    return Err(FaultErrorKind::NotFound {
                        what: format!("{} does not name the dependency {dep}", self.scene),
                        fix: "name one of the scene's [ext_resource] paths".into(),
                    });
                }
                file(dep)?
            }
            (SceneAction::RemoveDependency, None) => {
                return Err(FaultErrorKind::NotFound {
                    what: "remove_dependency without `dependency`".into(),
                    fix: "set dependency = \"res://...\" (one the scene names)".into(),
                });
            }
            _ => scene,
        };
        ctx.require_path(&target)?;
        Ok(target)
    }
}

impl CheckSettings for SceneSpec {
    const EXAMPLE: &'static str = "scene = \"res://vr_main.tscn\"\naction = \"remove_dependency\"\ndependency = \"res://a.gd\"";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        c.rule("scene", rule::res_path(&self.scene, Some(".tscn")));
        if let Some(dir) = &self.project_dir {
            c.allowed_path("project_dir", dir, cx.allow);
        }
        match (self.action, &self.dependency) {
            (SceneAction::RemoveDependency, Some(dep)) => c.rule("dependency", rule::res_path(dep, None)),
            (SceneAction::RemoveDependency, None) => {
                c.fail("", "remove_dependency needs dependency = \"res://...\" (one the scene names)")
            }
            (_, Some(_)) => c.fail("dependency", "dependency applies to remove_dependency only"),
            (_, None) => {}
        }
    }
}

impl Fault for SceneSpec {
    fn kind(&self) -> &'static str {
        "scene"
    }

    fn describe(&self) -> String {
        match (self.action, &self.dependency) {
            (SceneAction::Rename, _) => format!("scene: rename {} away", self.scene),
            (SceneAction::Garbage, _) => format!("scene: overwrite {} with garbage", self.scene),
            (SceneAction::RemoveDependency, dep) => {
                format!("scene: remove {}, a dependency of {}", dep.as_deref().unwrap_or("?"), self.scene)
            }
        }
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        self.resolve(ctx).map(drop)
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let target = self.resolve(ctx)?;
        match self.action {
            SceneAction::Rename | SceneAction::RemoveDependency => {
                let backup = restore::move_away(intent, &target)?;
                Ok(format!("moved {} to {}", target.display(), backup.display()))
            }
            SceneAction::Garbage => {
                let (backup, mode) = restore::back_up(intent, &target)?;
                restore::replace(&target, &backup, GARBAGE, mode)?;
                Ok(format!("overwrote {} with garbage (original kept in {})", target.display(), backup.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Allow, testutil};
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/a.gd"), "extends Node\n").unwrap();
        let scene = "[gd_scene format=3]\n[ext_resource type=\"Script\" path=\"res://scripts/a.gd\" id=\"1\"]\n";
        std::fs::write(dir.path().join("main.tscn"), scene).unwrap();
        dir
    }

    fn spec(dir: &tempfile::TempDir, action: SceneAction, dependency: Option<&str>) -> SceneSpec {
        let (scene, dependency) = ("res://main.tscn".into(), dependency.map(str::to_owned));
        SceneSpec { scene, action, dependency, project_dir: Some(dir.path().to_owned()) }
    }

    #[test]
    fn each_action_changes_its_file_and_rollback_restores_the_bytes() {
        let dir = project();
        let ctx = testutil::ctx(Allow { paths: vec![dir.path().to_owned()], ..Allow::default() });
        let hashes = |d: &tempfile::TempDir| {
            ["main.tscn", "scripts/a.gd"].map(|f| restore::sha256_file(&d.path().join(f)).unwrap())
        };
        let before = hashes(&dir);
        for (action, dep) in [
            (SceneAction::Rename, None),
            (SceneAction::Garbage, None),
            (SceneAction::RemoveDependency, Some("res://scripts/a.gd")),
        ] {
            let s = spec(&dir, action, dep);
            s.preflight(&ctx).unwrap();
            let mut undo = Vec::new();
            s.inject(&ctx, &mut undo).unwrap();
            assert_ne!(hashes(&dir), before, "{action:?} changed nothing");
            testutil::rollback(undo);
            assert_eq!(hashes(&dir), before, "{action:?} not restored");
        }
    }

    #[test]
    fn preflight_refuses_unknown_dependencies_and_paths_outside_the_allow_list() {
        let dir = project();
        let e = spec(&dir, SceneAction::Garbage, None).preflight(&testutil::ctx(Allow::default())).unwrap_err();
        assert!(e.to_string().contains("not in the allow-list"), "{e}");
        let ctx = testutil::ctx(Allow { paths: vec![dir.path().to_owned()], ..Allow::default() });
        let e = spec(&dir, SceneAction::RemoveDependency, Some("res://b.gd")).preflight(&ctx).unwrap_err();
        assert!(e.to_string().contains("does not name the dependency res://b.gd"), "{e}");
        let e = SceneSpec { project_dir: None, ..spec(&dir, SceneAction::Rename, None) }.preflight(&ctx).unwrap_err();
        assert!(e.to_string().contains("needs the embedded simulator"), "{e}");
    }
}
