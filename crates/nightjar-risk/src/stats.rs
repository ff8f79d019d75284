//! Score, rank and excess: pure functions over the counts of one risk and period.

/// CyberGreen score: `100 × ln(count) / ln(max)`.
///
/// `count == 0` scores 0 and `count == max` scores 100. When `max == 1`
/// (`ln(1) = 0`, the formula divides by zero) every count of 1 scores 100:
/// each such row is the maximum.
pub fn score(count: u64, max: u64) -> f64 {
    if count == 0 {
        0.0
    } else if max <= 1 || count >= max {
        100.0
    } else {
        100.0 * (count as f64).ln() / (max as f64).ln()
    }
}

/// Competition ranks ("1224"): 1 for the largest count, equal counts share a
/// rank, and the next count's rank skips the shared ones (counts 5, 5, 3 →
/// ranks 1, 1, 3). Answers one rank per input, in input order.
pub fn ranks(counts: &[u64]) -> Vec<u64> {
    let mut sorted: Vec<u64> = counts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    counts
        .iter()
        .map(|count| {
            // Rank = 1 + how many counts are strictly larger.
            sorted.partition_point(|other| other > count) as u64 + 1
        })
        .collect()
}

/// Mejiro-style excess: over the rows with `count > 0` and `addresses > 0`,
/// fit `ln(count) = a + b × ln(addresses)` by least squares; a row's excess is
/// the standard score of its residual (the residual divided by the residuals'
/// population standard deviation, `sqrt(Σ r² / n)`; their mean is 0).
///
/// `None` for rows outside the fit, and for every row when fewer than 3
/// rows are in it (two points always fit exactly) or when all of them have
/// the same address space (no slope to fit). When every residual is 0 (the
/// fit is exact), every fitted row's excess is 0.
pub fn excess(rows: &[(u64, Option<u64>)]) -> Vec<Option<f64>> {
    let fitted: Vec<(usize, f64, f64)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, (count, addresses))| match addresses {
            Some(addresses) if *count > 0 && *addresses > 0 => {
                Some((i, (*addresses as f64).ln(), (*count as f64).ln()))
            }
            _ => None,
        })
        .collect();
    let mut out = vec![None; rows.len()];
    let n = fitted.len() as f64;
    if fitted.len() < 3 {
        return out;
    }
    let mean_x = fitted.iter().map(|(_, x, _)| x).sum::<f64>() / n;
    let mean_y = fitted.iter().map(|(_, _, y)| y).sum::<f64>() / n;
    let sxx: f64 = fitted.iter().map(|(_, x, _)| (x - mean_x).powi(2)).sum();
    if sxx <= f64::EPSILON {
        return out;
    }
    let sxy: f64 = fitted.iter().map(|(_, x, y)| (x - mean_x) * (y - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let residuals: Vec<(usize, f64)> = fitted.iter().map(|(i, x, y)| (*i, y - (intercept + slope * x))).collect();
    let sd = (residuals.iter().map(|(_, r)| r * r).sum::<f64>() / n).sqrt();
    for (i, residual) in residuals {
        out[i] = Some(if sd <= 1e-12 { 0.0 } else { residual / sd });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_ends_and_the_max_of_one() {
        assert_eq!(score(0, 10), 0.0);
        assert_eq!(score(10, 10), 100.0);
        assert_eq!(score(1, 10), 0.0);
        assert!((score(10, 100) - 50.0).abs() < 1e-9);
        assert_eq!(score(1, 1), 100.0);
        assert_eq!(score(0, 0), 0.0);
    }

    #[test]
    fn ranks_are_competition_ranks() {
        assert_eq!(ranks(&[5, 3, 5, 1]), [1, 3, 1, 4]);
        assert_eq!(ranks(&[7]), [1]);
        assert_eq!(ranks(&[]), Vec::<u64>::new());
        assert_eq!(ranks(&[2, 2, 2]), [1, 1, 1]);
    }

    #[test]
    fn excess_needs_three_points_and_is_a_standard_score() {
        assert_eq!(excess(&[(1, Some(10)), (2, Some(20))]), [None, None]);
        // Three points on ln(count) = ln(addresses) - ln(1000) exactly: all residuals 0.
        let exact = excess(&[(1, Some(1000)), (10, Some(10_000)), (100, Some(100_000))]);
        assert_eq!(exact, [Some(0.0), Some(0.0), Some(0.0)]);
        // Rows with no address space or no count stay out of the fit.
        let e = excess(&[(1, Some(1000)), (10, Some(10_000)), (100, Some(100_000)), (5, None), (0, Some(7))]);
        assert_eq!(&e[3..], [None, None]);
        // Standard scores: mean 0, population sd 1.
        let e = excess(&[(3, Some(100)), (50, Some(1000)), (20, Some(10_000)), (900, Some(100_000))]);
        let e: Vec<f64> = e.into_iter().map(|x| x.expect("fitted")).collect();
        let mean = e.iter().sum::<f64>() / 4.0;
        let var = e.iter().map(|x| x * x).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9, "{e:?}");
    }
}
