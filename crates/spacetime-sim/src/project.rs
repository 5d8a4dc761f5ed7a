//! The default Godot project (`res://` root) the simulator serves when none is given with `--project-dir`.
//!
//! The files are real Godot 4 text scenes and GDScript: `vr_main.tscn` names `res://scripts/vr_setup.gd` and
//! `res://scenes/player.tscn` through `[ext_resource]` lines, so renaming, corrupting or deleting any of them breaks
//! scene loads the way it breaks the real engine. `addons/` holds a scene outside the allow-list (403 when asked).

use std::path::Path;

/// `(path relative to res://, content)`.
const FILES: &[(&str, &str)] = &[
    (
        "project.godot",
        "config_version=5\n\n[application]\nconfig/name=\"SpaceTime\"\nrun/main_scene=\"res://vr_main.tscn\"\n",
    ),
    (
        "vr_main.tscn",
        "[gd_scene load_steps=3 format=3 uid=\"uid://b8vrmain0001\"]\n\n\
         [ext_resource type=\"Script\" path=\"res://scripts/vr_setup.gd\" id=\"1_setup\"]\n\
         [ext_resource type=\"PackedScene\" path=\"res://scenes/player.tscn\" id=\"2_player\"]\n\n\
         [node name=\"VRMain\" type=\"Node3D\"]\nscript = ExtResource(\"1_setup\")\n\n\
         [node name=\"XROrigin3D\" type=\"XROrigin3D\" parent=\".\"]\n\n\
         [node name=\"XRCamera3D\" type=\"XRCamera3D\" parent=\"XROrigin3D\"]\n\n\
         [node name=\"Player\" parent=\".\" instance=ExtResource(\"2_player\")]\n",
    ),
    ("node_3d.tscn", "[gd_scene format=3 uid=\"uid://c3node3d0001\"]\n\n[node name=\"Node3D\" type=\"Node3D\"]\n"),
    (
        "scenes/player.tscn",
        "[gd_scene load_steps=2 format=3 uid=\"uid://d4player0001\"]\n\n\
         [ext_resource type=\"Script\" path=\"res://scripts/player.gd\" id=\"1_player\"]\n\n\
         [node name=\"Player\" type=\"CharacterBody3D\"]\nscript = ExtResource(\"1_player\")\n",
    ),
    (
        "scenes/space_station.tscn",
        "[gd_scene load_steps=2 format=3 uid=\"uid://e5station001\"]\n\n\
         [ext_resource type=\"PackedScene\" path=\"res://scenes/player.tscn\" id=\"1_player\"]\n\n\
         [node name=\"SpaceStation\" type=\"Node3D\"]\n\n\
         [node name=\"Player\" parent=\".\" instance=ExtResource(\"1_player\")]\n",
    ),
    (
        "tests/test_scene.tscn",
        "[gd_scene load_steps=2 format=3 uid=\"uid://f6tests00001\"]\n\n\
         [ext_resource type=\"Script\" path=\"res://scripts/test_runner.gd\" id=\"1_runner\"]\n\n\
         [node name=\"TestScene\" type=\"Node\"]\nscript = ExtResource(\"1_runner\")\n",
    ),
    ("addons/debug_tools/debug_panel.tscn", "[gd_scene format=3]\n\n[node name=\"DebugPanel\" type=\"Control\"]\n"),
    (
        "scripts/vr_setup.gd",
        "extends Node3D\n\nsignal vr_ready\n\nconst TARGET_FPS := 90\nvar xr_interface: XRInterface\n\n\
         func _ready() -> void:\n\txr_interface = XRServer.find_interface(\"OpenXR\")\n\tinitialize_vr()\n\n\
         func initialize_vr() -> bool:\n\tEngine.physics_ticks_per_second = TARGET_FPS\n\tvr_ready.emit()\n\treturn true\n",
    ),
    (
        "scripts/player.gd",
        "extends CharacterBody3D\n\nconst MAX_HEALTH := 100\nvar health: int = MAX_HEALTH\nvar jetpack_fuel: float = 100.0\n\n\
         func take_damage(amount: int) -> void:\n\thealth = max(health - amount, 0)\n\n\
         func apply_jetpack_thrust(delta: float) -> void:\n\tjetpack_fuel -= 10.0 * delta\n",
    ),
    (
        "scripts/test_runner.gd",
        "extends Node\n\nvar results: Array = []\n\nfunc run_all_tests() -> void:\n\tresults.clear()\n\tassert_scene_loaded()\n\n\
         func assert_scene_loaded() -> void:\n\tresults.append(true)\n",
    ),
];

/// Write the default project into `dir` (created if needed). Existing files are overwritten, so the set is known.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    for (rel, content) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
