//! Head sampling: decided when a trace starts, on the application thread, so it
//! must be nearly free. Decisions are consistent by trace id (every span of a
//! trace agrees, across processes too) using the OTel `TraceIdRatioBased` rule
//! on the low 8 bytes of the id.

use crate::error::ConfigError;
use crate::model::TraceId;

/// The samplers of `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    /// Follow the parent's decision when there is a parent; `root` otherwise.
    ParentBased(RootSampler),
}

/// The root sampler of a parent-based sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
}

/// The parent context known when a span starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentSampling {
    /// A root span.
    None,
    /// A parent exists and was sampled (local or via `traceparent` flags).
    Sampled,
    /// A parent exists and was not sampled.
    NotSampled,
}

pub const SAMPLER_NAMES: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio";

impl Default for Sampler {
    fn default() -> Self {
        Sampler::ParentBased(RootSampler::AlwaysOn)
    }
}

pub(crate) fn ratio_keeps(ratio: f64, trace_id: &TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    // Same rule as opentelemetry-sdk's TraceIdRatioBased: compare the low 63
    // bits of the id against ratio * 2^63.
    let bound = (ratio * (1u64 << 63) as f64) as u64;
    (trace_id.low_u64() >> 1) < bound
}

impl RootSampler {
    fn should_sample(&self, trace_id: &TraceId) -> bool {
        match self {
            RootSampler::AlwaysOn => true,
            RootSampler::AlwaysOff => false,
            RootSampler::TraceIdRatio(r) => ratio_keeps(*r, trace_id),
        }
    }
}

impl Sampler {
    /// Whether a span starting with this parent context is recorded.
    #[inline]
    pub fn should_sample(&self, trace_id: &TraceId, parent: ParentSampling) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::TraceIdRatio(r) => ratio_keeps(*r, trace_id),
            Sampler::ParentBased(root) => match parent {
                ParentSampling::None => root.should_sample(trace_id),
                ParentSampling::Sampled => true,
                ParentSampling::NotSampled => false,
            },
        }
    }

    /// Parses a sampler name and its argument, as `OTEL_TRACES_SAMPLER(_ARG)`.
    /// A missing ratio argument means 1.0, as the specification says.
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Sampler, ConfigError> {
        let ratio = || -> Result<f64, ConfigError> {
            match arg {
                None => Ok(1.0),
                Some(a) => match a.trim().parse::<f64>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                    _ => Err(ConfigError::new(
                        "sampler_arg",
                        a,
                        "expected a ratio between 0.0 and 1.0",
                    )),
                },
            }
        };
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Sampler::ParentBased(RootSampler::AlwaysOn),
            "parentbased_always_off" => Sampler::ParentBased(RootSampler::AlwaysOff),
            "parentbased_traceidratio" => Sampler::ParentBased(RootSampler::TraceIdRatio(ratio()?)),
            _ => {
                return Err(ConfigError::new(
                    "sampler",
                    name,
                    format!("expected one of {SAMPLER_NAMES}"),
                ));
            }
        })
    }

    /// Validates a ratio given in code.
    pub fn ratio(r: f64) -> Result<Sampler, ConfigError> {
        if (0.0..=1.0).contains(&r) {
            Ok(Sampler::TraceIdRatio(r))
        } else {
            Err(ConfigError::new(
                "sampler_arg",
                r.to_string(),
                "expected a ratio between 0.0 and 1.0",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_consistent_and_close_to_target() {
        let s = Sampler::TraceIdRatio(0.25);
        let mut kept = 0;
        for _ in 0..20_000 {
            let id = TraceId::random();
            let d = s.should_sample(&id, ParentSampling::None);
            assert_eq!(d, s.should_sample(&id, ParentSampling::None));
            kept += d as u32;
        }
        assert!((4_000..6_000).contains(&kept), "kept {kept}");
    }

    #[test]
    fn parent_based_follows_parent() {
        let s = Sampler::ParentBased(RootSampler::AlwaysOff);
        let id = TraceId::random();
        assert!(!s.should_sample(&id, ParentSampling::None));
        assert!(s.should_sample(&id, ParentSampling::Sampled));
        assert!(!Sampler::default().should_sample(&id, ParentSampling::NotSampled));
    }

    #[test]
    fn parse_names_and_errors() {
        assert_eq!(
            Sampler::parse("parentbased_traceidratio", Some("0.5")).unwrap(),
            Sampler::ParentBased(RootSampler::TraceIdRatio(0.5))
        );
        assert_eq!(
            Sampler::parse("traceidratio", None).unwrap(),
            Sampler::TraceIdRatio(1.0)
        );
        let e = Sampler::parse("sometimes", None).unwrap_err();
        assert_eq!(e.field, "sampler");
        assert!(e.reason.contains("always_on"));
        assert_eq!(
            Sampler::parse("traceidratio", Some("2")).unwrap_err().field,
            "sampler_arg"
        );
        assert!(Sampler::ratio(f64::NAN).is_err());
    }
}
