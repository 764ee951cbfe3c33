use super::*;

fn parse(json: &str) -> Result<RopeParameters> {
    let value: Value = serde_json::from_str(json).unwrap();
    read(value.as_object().unwrap(), Path::new("m/config.json"))
}

fn refused(json: &str) -> String {
    parse(json).unwrap_err().to_string()
}

/// Llama 3.1's scaling, as its config.json states it.
const LLAMA31: &str = r#""factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192"#;

fn llama31(theta: f64) -> RopeParameters {
    RopeParameters {
        theta,
        scaling: RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192.0,
        },
    }
}

#[test]
fn both_formats_read_into_the_same_parameters() {
    let plain = RopeParameters::plain(50_000.0);
    assert_eq!(parse(r#"{"rope_theta": 50000.0}"#).unwrap(), plain);
    assert_eq!(
        parse(r#"{"rope_theta": 50000, "rope_scaling": null}"#).unwrap(),
        plain
    );
    assert_eq!(
        parse(r#"{"rope_parameters": {"rope_type": "default", "rope_theta": 50000.0}}"#).unwrap(),
        plain
    );
    assert_eq!(parse("{}").unwrap(), RopeParameters::plain(10_000.0));
    let v4 =
        format!(r#"{{"rope_theta": 5e5, "rope_scaling": {{"rope_type": "llama3", {LLAMA31}}}}}"#);
    let v4_old_key =
        format!(r#"{{"rope_theta": 5e5, "rope_scaling": {{"type": "llama3", {LLAMA31}}}}}"#);
    let v5 = format!(
        r#"{{"rope_parameters": {{"rope_type": "llama3", "rope_theta": 500000.0, {LLAMA31}}}}}"#
    );
    for text in [v4, v4_old_key, v5] {
        assert_eq!(parse(&text).unwrap(), llama31(5e5), "{text}");
    }
}

/// As transformers 5 fills it: the top-level key, else the object's own, else
/// max_position_embeddings.
#[test]
fn llama3_s_pretraining_context_falls_back_like_transformers() {
    let scaling = r#""rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0"#;
    let context = |json: &str| match parse(json).unwrap().scaling {
        RopeScaling::Llama3 {
            original_max_position_embeddings,
            ..
        } => original_max_position_embeddings,
        RopeScaling::Default => panic!("{json}: no scaling"),
    };
    let fallback =
        format!(r#"{{"max_position_embeddings": 64, "rope_parameters": {{{scaling}}}}}"#);
    assert_eq!(context(&fallback), 64.0);
    let top = format!(
        r#"{{"max_position_embeddings": 64, "original_max_position_embeddings": 16,
            "rope_parameters": {{{scaling}}}}}"#
    );
    assert_eq!(context(&top), 16.0);
}

#[test]
fn both_formats_at_once_must_agree() {
    let agree = r#"{"rope_theta": 5e4, "rope_scaling": null,
        "rope_parameters": {"rope_type": "default", "rope_theta": 50000.0}}"#;
    assert_eq!(parse(agree).unwrap(), RopeParameters::plain(5e4));
    let err = refused(r#"{"rope_theta": 1e4, "rope_parameters": {"rope_theta": 5e4}}"#);
    assert!(
        err.starts_with("m/config.json: rope_parameters.rope_theta: "),
        "{err}"
    );
    assert!(err.contains("50000") && err.contains("10000"), "{err}");
    let scaled = format!(
        r#"{{"rope_scaling": null, "rope_parameters": {{"rope_type": "llama3", {LLAMA31}}}}}"#
    );
    let err = refused(&scaled);
    assert!(
        err.contains("rope_parameters: llama3") && err.contains("rope_scaling (no scaling)"),
        "{err}"
    );
    // θ from the top level fills an object that names none (transformers 5 does the same).
    let filled = format!(
        r#"{{"rope_theta": 5e5, "rope_parameters": {{"rope_type": "llama3", {LLAMA31}}}}}"#
    );
    assert_eq!(parse(&filled).unwrap(), llama31(5e5));
}

#[test]
fn what_is_not_implemented_is_refused_by_key_and_value() {
    for (json, key, value) in [
        (
            r#"{"rope_scaling": {"type": "linear", "factor": 2.0}}"#,
            "rope_scaling.rope_type",
            "\"linear\"",
        ),
        (
            r#"{"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e6, "factor": 4.0}}"#,
            "rope_parameters.rope_type",
            "\"yarn\"",
        ),
        (
            r#"{"rope_parameters": {"rope_type": "dynamic", "factor": 2.0}}"#,
            "rope_parameters.rope_type",
            "\"dynamic\"",
        ),
        (
            r#"{"rope_parameters": {"rope_type": "default", "rope_theta": 1e4, "factor": 2.0}}"#,
            "rope_parameters.factor",
            "not read",
        ),
        (
            r#"{"rope_parameters": {"rope_theta": 1e4, "partial_rotary_factor": 0.5}}"#,
            "rope_parameters.partial_rotary_factor",
            "0.5",
        ),
        (
            r#"{"max_position_embeddings": 64, "rope_parameters": {"rope_type": "llama3", "factor": 8.0}}"#,
            "rope_parameters.low_freq_factor",
            "missing",
        ),
        (
            r#"{"original_max_position_embeddings": 64, "rope_scaling": {"rope_type": "llama3",
                "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 32}}"#,
            "rope_scaling.original_max_position_embeddings",
            "disagrees",
        ),
        (
            r#"{"partial_rotary_factor": 0.5}"#,
            "partial_rotary_factor",
            "0.5",
        ),
        (
            r#"{"rope_parameters": {"rope_theta": "big"}}"#,
            "rope_parameters.rope_theta",
            "not a number",
        ),
        (
            r#"{"rope_parameters": {"full_attention": {"rope_theta": 1e4}}}"#,
            "rope_parameters",
            "per layer type",
        ),
    ] {
        let err = refused(json);
        assert!(
            err.starts_with(&format!("m/config.json: {key}: ")),
            "{json}: {err}"
        );
        assert!(err.contains(value), "{json}: {err}");
    }
}

/// Llama 3.1's inverse frequencies (θ = 500,000, D = 128), worked in f64 from the definition:
/// wavelengths under 8192 / 4 = 2048 positions are kept, those over 8192 / 1 divided by 8, and
/// between them s = (8192 / λ − 1) / (4 − 1) blends (1 − s)·f/8 + s·f.
#[test]
fn llama3_frequencies_follow_the_three_bands() {
    let inv_freq = llama31(5e5).inv_freq(128);
    assert_eq!(inv_freq.len(), 64);
    let plain = RopeParameters::plain(5e5).inv_freq(128);
    let mut bands = [0; 3];
    for (i, (&got, &unscaled)) in inv_freq.iter().zip(&plain).enumerate() {
        let f = 500_000f64.powf(-(2.0 * i as f64) / 128.0);
        let wavelen = std::f64::consts::TAU / f;
        let (expected, band) = if wavelen < 2048.0 {
            (f, 0)
        } else if wavelen > 8192.0 {
            (f / 8.0, 2)
        } else {
            let s = (8192.0 / wavelen - 1.0) / 3.0;
            ((1.0 - s) * f / 8.0 + s * f, 1)
        };
        bands[band] += 1;
        let rel = (got as f64 - expected).abs() / expected;
        assert!(rel < 1e-5, "channel {i}: {got} vs {expected}");
        assert_eq!(band == 0, got == unscaled, "channel {i}");
    }
    // Every band is exercised: 29 high-frequency channels kept, 6 blended, 29 divided by 8.
    assert_eq!(bands, [29, 6, 29]);
    assert_eq!(inv_freq[0], 1.0);
}
