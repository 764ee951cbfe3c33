//! The experiment file end to end: parse, grid, overrides, validation and their errors.

use std::path::Path;

use pglab_estimator::Estimator;
use toml::Value;

use super::grid::run_id;
use super::*;

const BASE: &str = r#"model = "m"

[train]
estimator = "rloo"
lr = 0.01
prompts = ["Once upon a time"]
k = 4
steps = 10
"#;

fn runs(text: &str, overrides: &[&str]) -> anyhow::Result<Vec<RunSpec>> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    parse(Path::new("exp.toml"), text, &Overrides::set(&overrides))?.expand()
}

fn error(text: &str) -> String {
    format!("{:#}", runs(text, &[]).unwrap_err())
}

#[test]
fn grid_is_the_cartesian_product_in_file_order() {
    let text = format!(
        "{BASE}\n[grid]\n\"train.estimator\" = [\"reinforce\", \"rloo\"]\n\"train.lr\" = [0.1, 0.001, 3e-4]\nseed = [0, 1]\n"
    );
    let runs = runs(&text, &[]).unwrap();
    assert_eq!(runs.len(), 2 * 3 * 2);
    // The file's order of keys: train.estimator, train.lr, seed (first key slowest).
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        &ids[..4],
        [
            "reinforce-lr0.1-s0",
            "reinforce-lr0.1-s1",
            "reinforce-lr1e-3-s0",
            "reinforce-lr1e-3-s1"
        ]
    );
    let last = runs.last().unwrap();
    assert_eq!(
        (
            last.config.seed,
            last.config.train.estimator,
            last.config.train.lr
        ),
        (1, Estimator::Rloo, 3e-4)
    );
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn table_grid_values_vary_keys_together() {
    let text = format!(
        "{BASE}\n[grid]\ntrain = [{{ estimator = \"reinforce\", k = 1 }}, {{ estimator = \"rloo\", k = 10 }}]\n"
    );
    let runs = runs(&text, &[]).unwrap();
    let got: Vec<(Estimator, usize, &str)> = runs
        .iter()
        .map(|r| (r.config.train.estimator, r.config.train.k, r.id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Estimator::Reinforce, 1, "reinforce-k1"),
            (Estimator::Rloo, 10, "rloo-k10")
        ]
    );
    assert_eq!(runs[0].config.train.lr, 0.01, "other keys of [train] stay");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let err = error("model = \"m\"\n[train\nlr = 1\n");
    assert!(err.starts_with("exp.toml:2:"), "{err}");
}

#[test]
fn misspelt_key_suggests_the_nearest() {
    let err = error(&BASE.replace("lr = 0.01", "lrr = 0.01"));
    assert!(err.starts_with("exp.toml:5:1"), "{err}");
    assert!(
        err.contains("train.lrr") && err.contains("did you mean `lr`"),
        "{err}"
    );
}

#[test]
fn unknown_section_is_rejected() {
    let err = error(&format!("{BASE}\n[rewards]\nkind = \"a_words\"\n"));
    assert!(
        err.contains("rewards") && err.contains("did you mean `reward`"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let err = error(&BASE.replace("lr = 0.01", "lr = \"fast\""));
    assert!(
        err.starts_with("exp.toml:5:1: train.lr: invalid type: string \"fast\", expected f64"),
        "{err}"
    );
}

#[test]
fn missing_required_key_is_named() {
    let err = error(&BASE.replace("estimator = \"rloo\"\n", ""));
    assert!(err.contains("missing field `estimator`"), "{err}");
}

#[test]
fn invalid_values_name_key_and_value() {
    for (from, to, expected) in [
        (
            "lr = 0.01",
            "lr = 0.0",
            "train.lr: 0 must be finite and > 0",
        ),
        ("lr = 0.01", "lr = -1e-3", "train.lr: -0.001"),
        ("k = 4", "k = 1", "train.k"),
        (
            "steps = 10",
            "steps = 10\nprompts_per_step = 0",
            "train.prompts_per_step",
        ),
        (
            "prompts = [\"Once upon a time\"]",
            "prompts = []",
            "train.prompts",
        ),
        // An estimator's own setting names its own key, not train.k.
        (
            "estimator = \"rloo\"",
            "estimator = \"grpo\"\neps = 0.0",
            "train.eps: ",
        ),
        (
            "estimator = \"rloo\"",
            "estimator = \"reinforce_ema\"\nema_decay = 1.5",
            "train.ema_decay: ",
        ),
    ] {
        let err = error(&BASE.replace(from, to));
        assert!(err.contains(expected), "{to}: {err}");
        assert!(err.starts_with("exp.toml:"), "{err}");
    }
    let err = error(&format!("{BASE}\n[sampling]\ntemperature = 0.0\n"));
    assert!(
        err.contains("sampling.temperature") && err.contains("exp.toml:11:1"),
        "{err}"
    );
    let err = error(&format!("{BASE}\n[sampling]\ntop_p = 1.5\n"));
    assert!(
        err.contains("sampling.top_p") && err.contains("1.5"),
        "{err}"
    );
}

#[test]
fn objectives_and_updates_per_batch_are_checked_together() {
    let with = |extra: &str| BASE.replace("steps = 10", &format!("steps = 10\n{extra}"));
    for (extra, expected) in [
        (
            "epochs = 2",
            "train.epochs: epochs = 2 reuses a batch after the policy that sampled it has moved, \
             and objective = \"policy_gradient\" has no off-policy correction",
        ),
        (
            "minibatches = 2\nprompts_per_step = 2",
            "train.minibatches: minibatches = 2",
        ),
        (
            "objective = \"ppo_clip\"\nepochs = 0",
            "train.epochs: 0 must be at least 1",
        ),
        (
            "objective = \"ppo_clip\"\nclip_low = 0.0",
            "train.clip_low: objective `ppo_clip`: clip_low = 0 must be in (0, 1)",
        ),
        (
            "objective = \"cispo\"\nclip_low = 1.0",
            "train.clip_low: objective `cispo`: clip_low = 1 must be in (0, 1)",
        ),
        ("objective = \"cispo\"\nclip_low = -0.2", "train.clip_low"),
        (
            "objective = \"ppo_clip\"\nclip_high = 0.0",
            "train.clip_high: objective `ppo_clip`: clip_high = 0 must be finite and > 0",
        ),
        (
            "objective = \"ppo_clip\"\nminibatches = 2\nprompts_per_step = 3",
            "train.minibatches: 2 does not divide prompts_per_step = 3",
        ),
        (
            "objective = \"gspo\"",
            "train.token_reduction: objective = \"gspo\"",
        ),
        (
            "objective = \"ppo_clip\"\nepochs = 2\nestimator = \"optimal_baseline\"",
            "train.objective: estimator `optimal_baseline`",
        ),
        (
            "resample_constant_groups = 2\nestimator = \"reinforce\"",
            "train.resample_constant_groups",
        ),
        ("token_reduction = \"tokens\"", "token_reduction"),
    ] {
        let text = with(extra).replace("estimator = \"rloo\"\n", "");
        let text = if text.contains("estimator =") {
            text
        } else {
            text.replace("[train]", "[train]\nestimator = \"rloo\"")
        };
        let err = error(&text);
        assert!(err.contains(expected), "{extra}: {err}");
        assert!(err.starts_with("exp.toml:") && !err.contains('\n'), "{err}");
    }
    // What is allowed: several updates under a clipped objective, clip-higher, the four
    // reductions, GSPO under the mean reduction, dynamic sampling with a group estimator.
    for extra in [
        "objective = \"ppo_clip\"\nepochs = 4\nminibatches = 2\nprompts_per_step = 4\nclip_high = 0.28",
        "objective = \"cispo\"\nclip_low = 0.9\nclip_high = 4.0",
        "objective = \"gspo\"\ntoken_reduction = \"mean\"\nclip_low = 3e-4\nclip_high = 4e-4",
        "token_reduction = \"batch_mean\"",
        "token_reduction = \"max_tokens\"",
        "resample_constant_groups = 3",
    ] {
        assert!(
            runs(&with(extra), &[]).is_ok(),
            "{extra}: {:#}",
            runs(&with(extra), &[]).unwrap_err()
        );
    }
}

#[test]
fn a_clipped_objective_left_at_its_defaults_keeps_a_runs_saved_settings() {
    // Runs written before the objectives existed keep their settings text (so their hash, and
    // the probe's stream, which hashes it).
    let run = &runs(BASE, &[]).unwrap()[0];
    let saved = toml::to_string(&run.config).unwrap();
    for key in [
        "objective",
        "clip_low",
        "clip_high",
        "epochs",
        "minibatches",
        "resample",
    ] {
        assert!(!saved.contains(key), "{key} in {saved}");
    }
    let run = &runs(BASE, &["train.objective=\"cispo\"", "train.epochs=2"]).unwrap()[0];
    let saved = toml::to_string(&run.config).unwrap();
    assert!(
        saved.contains("objective = \"cispo\"") && saved.contains("epochs = 2"),
        "{saved}"
    );
}

#[test]
fn k_below_two_names_the_group_estimator() {
    let err = error(&BASE.replace("k = 4", "k = 1"));
    assert!(err.contains("rloo") && err.contains('1'), "{err}");
}

#[test]
fn grid_errors_name_the_grid_key() {
    let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = []\n"));
    assert!(
        err.contains("grid.\"train.lr\"") && err.contains("empty"),
        "{err}"
    );
    let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = [0.1, 0.1]\n"));
    assert!(err.contains("appears twice"), "{err}");
    let err = error(&format!(
        "{BASE}\n[grid]\n\"train.learning_rate\" = [0.1]\n"
    ));
    assert!(
        err.contains("grid.\"train.learning_rate\"") && err.contains("unknown key"),
        "{err}"
    );
    let err = error(&format!("{BASE}\n[grid]\n\"train.lr\" = [0.1, -1.0]\n"));
    assert!(
        err.contains("grid.\"train.lr\" = -1") && err.contains("exp.toml:11:"),
        "{err}"
    );
}

#[test]
fn set_on_a_grid_key_pins_it() {
    let text = format!("{BASE}\n[grid]\nseed = [0, 1, 2]\n\"train.lr\" = [0.1, 0.2]\n");
    let pinned = runs(&text, &["seed=7"]).unwrap();
    assert_eq!(pinned.len(), 2);
    assert!(pinned.iter().all(|r| r.config.seed == 7));
}

#[test]
fn set_overrides_any_key() {
    let set = runs(
        BASE,
        &[
            "train.lr=0.5",
            "train.estimator=\"grpo\"",
            "sampling.max_new_tokens=7",
        ],
    )
    .unwrap();
    let c = &set[0].config;
    assert_eq!(
        (c.train.lr, c.train.estimator, c.sampling.max_new_tokens),
        (0.5, Estimator::Grpo, 7)
    );
    let err = format!("{:#}", runs(BASE, &["train.lrr=0.5"]).unwrap_err());
    assert!(err.contains("did you mean `lr`"), "{err}");
}

#[test]
fn committed_experiments_are_valid() {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../experiments");
    for name in [
        "smoke",
        "reinforce_vs_rloo",
        "tiny_stories_rl",
        "kl_penalty",
        "probe_at_start",
    ] {
        let path = dir.join(format!("{name}.toml"));
        let (experiment, runs) =
            load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(!runs.is_empty(), "{name}");
        assert!(experiment.output_dir(None).ends_with(name), "{name}");
    }
}

#[test]
fn run_ids_read_like_their_grid_point() {
    let point = vec![
        ("train.estimator".to_string(), Value::String("rloo".into())),
        ("train.lr".to_string(), Value::Float(3e-4)),
        ("seed".to_string(), Value::Integer(2)),
    ];
    assert_eq!(run_id(&point), "rloo-lr3e-4-s2");
}

#[test]
fn reinforce_pp_needs_two_rewards_per_step() {
    let text = BASE
        .replace("estimator = \"rloo\"", "estimator = \"reinforce_pp\"")
        .replace("k = 4", "k = 1");
    let err = error(&text);
    assert!(
        err.starts_with("exp.toml:") && err.contains("train.k") && err.contains("reinforce_pp"),
        "{err}"
    );
    assert!(err.contains("prompts_per_step = 1 × k = 1"), "{err}");
    // Two prompts a step make two rewards: valid.
    assert!(runs(&format!("{text}prompts_per_step = 2\n"), &[]).is_ok());
}

#[test]
fn reinforce_mean_needs_two_prompts_per_step() {
    let text = BASE.replace("estimator = \"rloo\"", "estimator = \"reinforce_mean\"");
    let err = error(&text);
    assert!(
        err.starts_with("exp.toml:") && err.contains("reinforce_mean"),
        "{err}"
    );
    assert!(
        err.contains("at least 2 prompts per step, got 1 (prompts_per_step = 1 × k = 4)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(runs(&format!("{text}prompts_per_step = 2\n"), &[]).is_ok());
}

#[test]
fn selection_seeds_must_be_seeds_the_grid_runs_and_leave_some() {
    let grid = "\n[grid]\nseed = [3, 4, 5]\n";
    let with = |report: &str| format!("{BASE}\n[report]\n{report}\n{grid}");
    assert!(runs(&with("selection_seeds = [3]"), &[]).is_ok());
    assert!(runs(&with("selection_seeds = 2"), &[]).is_ok());
    let err = format!(
        "{:#}",
        runs(&with("selection_seeds = [0, 1]"), &[]).unwrap_err()
    );
    assert_eq!(
        err,
        "exp.toml:11:1: report.selection_seeds: seed 0 is not one the sweep runs (3, 4, 5)"
    );
    let err = format!("{:#}", runs(&with("selection_seeds = 3"), &[]).unwrap_err());
    assert!(err.ends_with("3 of the sweep's 3 seeds (3, 4, 5) pick the rates, which leaves none to compare them on"), "{err}");
    // A replicate with other seeds keeps a count valid, and a list it no longer runs is named.
    let replicate = |report: &str| gridded(&with(report), &["seed=10..13"], &[]);
    assert!(replicate("selection_seeds = 1").is_ok());
    assert!(replicate("selection_seeds = [3]").is_err());
}

#[test]
fn probe_steps_and_seeds_choose_where_the_probe_runs() {
    let text = format!(
        "{BASE}\n[probe]\nsteps = [0, 5]\nbatches = 4\nseeds = 2\n\n[grid]\nseed = [7, 3, 5]\n"
    );
    let sweep = runs(&text, &[]).unwrap();
    let probed: Vec<(u64, bool)> = sweep
        .iter()
        .map(|r| (r.config.seed, r.config.probe.is_on()))
        .collect();
    assert_eq!(probed, vec![(7, false), (3, true), (5, true)]);
    let probe = &sweep[1].config.probe;
    let at: Vec<usize> = (0..10).filter(|&s| probe.at(s)).collect();
    assert_eq!(at, vec![0, 5]);
    // Resolved: no run's settings carry the sweep-level subset.
    assert!(sweep.iter().all(|r| r.config.probe.seeds.is_none()));
    // `every` and `steps` together: their union.
    let both = text.replace("steps = [0, 5]", "steps = [3]\nevery = 4");
    let probe = runs(&both, &[]).unwrap()[1].config.probe.clone();
    assert_eq!(
        (0..10).filter(|&s| probe.at(s)).collect::<Vec<_>>(),
        vec![0, 3, 4, 8]
    );

    let err = error(&text.replace("steps = [0, 5]", "steps = [0, 10]"));
    assert!(
        err.contains("probe.steps")
            && err.contains("step 10 is never reached: the run has 10 steps"),
        "{err}"
    );
    let err = error(&text.replace("seeds = 2", "seeds = [4]"));
    assert!(
        err.contains("probe.seeds: seed 4 is not one the sweep runs (3, 5, 7)"),
        "{err}"
    );
}

#[test]
fn a_misspelt_value_the_grid_replaces_is_still_an_error() {
    let text = format!(
        "{}\n[grid]\n\"train.estimator\" = [\"reinforce\", \"rloo\"]\n",
        BASE.replace("\"rloo\"", "\"rlooo\"")
    );
    let err = error(&text);
    assert!(
        err.starts_with("exp.toml:4:1") && err.contains("rlooo"),
        "{err}"
    );
}

#[test]
fn a_base_value_the_grid_replaces_is_not_validated_in_combinations_it_never_runs() {
    // Base k = 1 suits reinforce only, but the grid sets k in every run: valid.
    let text = format!(
        "{}\n[grid]\n\"train.estimator\" = [\"rloo\", \"grpo\"]\n\"train.k\" = [4, 8]\n",
        BASE.replace("k = 4", "k = 1")
            .replace("\"rloo\"", "\"reinforce\"")
    );
    assert_eq!(runs(&text, &[]).expect("valid grid").len(), 4);
}

fn gridded(text: &str, grid: &[&str], set: &[&str]) -> anyhow::Result<Vec<RunSpec>> {
    let overrides = Overrides {
        set: set.iter().map(|s| s.to_string()).collect(),
        grid: grid.iter().map(|s| s.to_string()).collect(),
    };
    parse(Path::new("exp.toml"), text, &overrides)?.expand()
}

fn ids(runs: &[RunSpec]) -> Vec<&str> {
    runs.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn grid_override_replaces_an_axis_in_place_and_adds_new_ones_last() {
    let text = format!("{BASE}\n[grid]\nseed = [0, 1]\n\"train.lr\" = [0.1, 0.2]\n");
    // A half-open range replaces seed, which stays the slowest axis.
    let runs = gridded(&text, &["seed=100..103"], &[]).unwrap();
    assert_eq!(
        ids(&runs),
        [
            "s100-lr0.1",
            "s100-lr0.2",
            "s101-lr0.1",
            "s101-lr0.2",
            "s102-lr0.1",
            "s102-lr0.2"
        ]
    );
    assert_eq!(runs[2].config.seed, 101);
    // A list of bare words, a TOML list of floats, and a new axis that varies fastest.
    let runs = gridded(
        &text,
        &["train.lr=[1e-4, 3e-4]", "train.estimator=[grpo, rloo]"],
        &["seed=5"],
    )
    .unwrap();
    assert_eq!(
        ids(&runs),
        ["lr1e-4-grpo", "lr1e-4-rloo", "lr3e-4-grpo", "lr3e-4-rloo"]
    );
    assert_eq!(runs[3].config.train.lr, 3e-4);
    assert_eq!(runs[3].config.train.estimator, Estimator::Rloo);
    assert!(runs.iter().all(|r| r.config.seed == 5));
    // One value is a one-point axis; a file without a grid gains one.
    assert_eq!(ids(&gridded(BASE, &["seed=4"], &[]).unwrap()), ["s4"]);
}

#[test]
fn bad_grid_overrides_are_one_line_naming_the_flag() {
    let text = format!("{BASE}\n[grid]\nseed = [0, 1]\n");
    for (grid, set, expected) in [
        ("seed=5..2", "", "--grid seed=5..2: the range 5..2 is empty"),
        ("seed=3..3", "", "the range 3..3 is empty"),
        ("seed=a..b", "", "--grid seed=a..b: `a` is not an integer"),
        ("seed=1.5..4", "", "`1.5` is not an integer"),
        ("seed=[]", "", "--grid seed=[]: no values"),
        ("seed=[1, 2, 1]", "", "value 1 appears twice"),
        ("seed", "", "--grid seed: expected KEY=VALUES"),
        ("=[1]", "", "is not a key"),
        (
            "trian.lr=[0.1]",
            "",
            "--grid trian.lr: value 0.1: trian: unknown key",
        ),
        ("train.lrr=[0.1]", "", "did you mean `lr`"),
        (
            "train.estimator=[rlooo]",
            "",
            "--grid train.estimator: value \"rlooo\"",
        ),
        ("train.lr=[-1]", "", "--grid train.lr: value -1"),
        ("seed=0..2", "seed=3", "`seed` is also given by --set"),
    ] {
        let set: Vec<&str> = if set.is_empty() { vec![] } else { vec![set] };
        let err = format!("{:#}", gridded(&text, &[grid], &set).unwrap_err());
        assert!(err.contains(expected), "{grid}: {err}");
        assert!(!err.contains('\n'), "{grid}: one line: {err}");
    }
    // An axis the grid already varies through a table of keys.
    let tables = format!(
        "{BASE}\n[grid]\ntrain = [{{ estimator = \"rloo\", lr = 0.1 }}, {{ estimator = \"grpo\", lr = 0.2 }}]\n"
    );
    let err = format!(
        "{:#}",
        gridded(&tables, &["train.lr=[0.3]"], &[]).unwrap_err()
    );
    assert!(
        err.contains("the grid's key `train` already varies `train.lr`"),
        "{err}"
    );
    // A table axis can be replaced whole.
    let runs = gridded(
        &tables,
        &["train=[{ estimator = \"reinforce\", lr = 0.5 }]"],
        &[],
    )
    .unwrap();
    assert_eq!(ids(&runs), ["reinforce-lr0.5"]);
}
