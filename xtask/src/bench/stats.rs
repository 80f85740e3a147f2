//! Statistics over a side's runs: medians, the min–max spread, per-side summaries.

use super::run::Sample;

/// The median of `xs` (the mean of the middle two for an even count).
pub(super) fn median(xs: &[f64]) -> f64 {
    assert!(!xs.is_empty(), "median of nothing");
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Medians of one side of a row, and the spread of its main figure.
#[derive(Clone, Debug)]
pub(super) struct Summary {
    /// The median of the runs' values.
    pub(super) value: f64,
    /// The smallest and largest value of the runs.
    pub(super) min: f64,
    pub(super) max: f64,
    /// How many runs the summary is over.
    pub(super) runs: usize,
    pub(super) unit: String,
    pub(super) rss_kib: f64,
    pub(super) extra: Vec<(String, f64)>,
}

pub(super) fn summarize(samples: &[Sample]) -> Summary {
    let mut keys: Vec<&String> = samples[0].extra.keys().collect();
    keys.sort();
    let extra = keys
        .into_iter()
        .filter(|k| samples.iter().all(|s| s.extra.contains_key(*k)))
        .map(|k| {
            let xs: Vec<f64> = samples.iter().map(|s| s.extra[k]).collect();
            (k.clone(), median(&xs))
        })
        .collect();
    let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
    Summary {
        value: median(&values),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        runs: values.len(),
        unit: samples[0].unit.clone(),
        rss_kib: median(&samples.iter().map(|s| s.rss_kib as f64).collect::<Vec<_>>()),
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn summary_has_the_median_and_the_spread() {
        let sample = |value: f64| Sample {
            value,
            unit: "ns/op".into(),
            rss_kib: 1,
            extra: Default::default(),
        };
        let s = summarize(&[540.0, 521.0, 547.0, 539.0, 600.0].map(sample));
        assert_eq!((s.value, s.min, s.max, s.runs), (540.0, 521.0, 600.0, 5));
        let one = summarize(&[sample(7.0)]);
        assert_eq!((one.value, one.min, one.max, one.runs), (7.0, 7.0, 7.0, 1));
    }
}
