//! The anonymous pulse: a team's answers to a survey about its leader and
//! itself, summarised only where no one can be singled out.
//!
//! Two rules hold here, for any caller:
//! - a survey's results exist only when at least `min_group` people
//!   answered ([`summarize`]);
//! - two surveys whose respondent sets differ by fewer than `min_group`
//!   people (but not by none) are never both released: subtracting one
//!   from the other would isolate those few people's answers ([`release`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The smallest anonymity threshold allowed.
pub const MIN_GROUP_FLOOR: usize = 3;

/// The default anonymity threshold.
pub const MIN_GROUP_DEFAULT: usize = 5;

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// 1 (strongly disagree) to 5 (strongly agree).
    Agree,
    /// 0 to 10: "would you recommend this team".
    Recommend,
}

impl Scale {
    /// The lowest and highest answer.
    pub fn range(self) -> (u8, u8) {
        match self {
            Scale::Agree => (1, 5),
            Scale::Recommend => (0, 10),
        }
    }
}

/// A question of a survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// A short key (`clarity`).
    pub key: String,
    /// The statement or question.
    pub text: String,
    /// How it is answered.
    pub scale: Scale,
}

/// fulcrum's built-in questions about leadership and the team.
pub fn builtin() -> Vec<Question> {
    let agree = |key: &str, text: &str| Question { key: key.into(), text: text.into(), scale: Scale::Agree };
    vec![
        agree("clarity", "I understand why the work I do matters and what we are trying to achieve."),
        agree("safety", "I can raise a problem or a mistake without fear of how it will be received."),
        agree("failure", "When an experiment fails here, we learn from it rather than look for someone to blame."),
        agree("focus", "My lead protects the team's focus time from interruptions and needless meetings."),
        agree("growth", "I am learning and growing in this team, and have time to explore."),
        agree("recognition", "Good work is noticed and recognised here."),
        agree("availability", "My lead is available when I need help or a decision."),
        agree("pressure", "When pressure comes from above, my lead handles it without passing panic down."),
        Question {
            key: "recommend".into(),
            text: "How likely are you to recommend this team to a friend as a place to work?".into(),
            scale: Scale::Recommend,
        },
    ]
}

/// One person's answers: a value per question (by position, `None` when
/// skipped) and optional free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// By question, in order.
    pub values: Vec<Option<u8>>,
    /// Free text, when the survey takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Checks `answers` against `questions`: one value per question, each in
/// its scale.
pub fn validate(questions: &[Question], answers: &Answers) -> Result<(), String> {
    if answers.values.len() != questions.len() {
        return Err(format!("{} answers for {} questions", answers.values.len(), questions.len()));
    }
    for (question, value) in questions.iter().zip(&answers.values) {
        let (low, high) = question.scale.range();
        if let Some(v) = value
            && !(low..=high).contains(v)
        {
            return Err(format!("`{}`: {v} is outside {low}–{high}", question.key));
        }
    }
    Ok(())
}

/// A question's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    /// The question's key.
    pub key: String,
    /// Its text.
    pub text: String,
    /// How it was answered.
    pub scale: Scale,
    /// How many answered it.
    pub answered: usize,
    /// Their mean.
    pub mean: Option<f64>,
    /// How many gave each value, lowest first.
    pub distribution: Vec<usize>,
    /// For the 0–10 question: promoters (9–10) minus detractors (0–6), as
    /// a percentage.
    pub net_score: Option<f64>,
}

/// A survey's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// How many answered.
    pub respondents: usize,
    /// Per question.
    pub questions: Vec<QuestionResult>,
    /// Free-text answers, in an order unrelated to when they came.
    pub comments: Vec<String>,
}

/// Why a survey's results are not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Withheld {
    /// Fewer than `min_group` answered.
    TooFew {
        /// The threshold.
        min_group: usize,
    },
    /// Showing it beside an already released survey would single out the
    /// few people by whom their respondents differ.
    Differencing {
        /// The survey it would be differenced with.
        with: i64,
    },
    /// Still open: results appear when it closes (watching them change as
    /// answers arrive would single out the latest).
    Open,
}

/// The results of `answers`, or why they are withheld: never for fewer
/// than `min_group` (itself at least [`MIN_GROUP_FLOOR`]). `order` gives
/// the free text's order (a permutation seed; the stored order carries no
/// information either). A question answered by fewer than `min_group` shows
/// its count only.
pub fn summarize(
    questions: &[Question],
    answers: &[Answers],
    min_group: usize,
    order: u64,
) -> Result<Results, Withheld> {
    let min_group = min_group.max(MIN_GROUP_FLOOR);
    if answers.len() < min_group {
        return Err(Withheld::TooFew { min_group });
    }
    let questions = questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let (low, high) = q.scale.range();
            let values: Vec<u8> = answers.iter().filter_map(|a| a.values.get(i).copied().flatten()).collect();
            let shown = values.len() >= min_group;
            let mut distribution = vec![0; usize::from(high - low) + 1];
            for v in &values {
                distribution[usize::from(v - low)] += 1;
            }
            let n = values.len() as f64;
            let mean = (shown && !values.is_empty()).then(|| values.iter().map(|v| f64::from(*v)).sum::<f64>() / n);
            let net_score = (shown && q.scale == Scale::Recommend).then(|| {
                let promoters = values.iter().filter(|v| **v >= 9).count() as f64;
                let detractors = values.iter().filter(|v| **v <= 6).count() as f64;
                (promoters - detractors) / n * 100.0
            });
            QuestionResult {
                key: q.key.clone(),
                text: q.text.clone(),
                scale: q.scale,
                answered: values.len(),
                mean,
                distribution: if shown { distribution } else { Vec::new() },
                net_score,
            }
        })
        .collect();
    let mut comments: Vec<String> = answers
        .iter()
        .filter_map(|a| a.text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if comments.len() < min_group {
        comments.clear();
    }
    shuffle(&mut comments, order);
    Ok(Results { respondents: answers.len(), questions, comments })
}

/// A survey as [`release`] sees it.
#[derive(Debug, Clone)]
pub struct Respondents {
    /// Its id.
    pub id: i64,
    /// Who answered (stable keys across surveys).
    pub people: BTreeSet<String>,
    /// How many answers it holds.
    pub answers: usize,
    /// Whether it is closed.
    pub closed: bool,
    /// Its own threshold (at least the configuration's).
    pub min_group: usize,
    /// The verdict given when it was first decided, kept: a released survey
    /// stays released and a withheld one withheld, whatever changes later.
    pub decided: Option<Result<(), Withheld>>,
}

/// Which surveys may show results, in `surveys`' order (oldest closed
/// first): a survey is released when it is closed, has at least
/// `min_group` answers, and differs from every survey released before it by
/// no one or by at least `min_group` people. Once released, a survey stays
/// released: a later one that would difference with it is withheld.
pub fn release(surveys: &[Respondents], min_group: usize) -> Vec<(i64, Result<(), Withheld>)> {
    let floor = min_group.max(MIN_GROUP_FLOOR);
    let mut released: Vec<&Respondents> = Vec::new();
    surveys
        .iter()
        .map(|survey| {
            if let Some(decided) = &survey.decided {
                if decided.is_ok() {
                    released.push(survey);
                }
                return (survey.id, decided.clone());
            }
            let min_group = survey.min_group.max(floor);
            let verdict = if !survey.closed {
                Err(Withheld::Open)
            } else if survey.answers < min_group {
                Err(Withheld::TooFew { min_group })
            } else if let Some(other) = released.iter().find(|r| {
                // The stricter of the two surveys' thresholds.
                let threshold = min_group.max(r.min_group);
                let differ = r.people.symmetric_difference(&survey.people).count();
                differ > 0 && differ < threshold
            }) {
                Err(Withheld::Differencing { with: other.id })
            } else {
                released.push(survey);
                Ok(())
            };
            (survey.id, verdict)
        })
        .collect()
}

/// Fisher–Yates with splitmix64 from `seed`.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(values: &[u8], text: Option<&str>) -> Answers {
        Answers { values: values.iter().map(|v| Some(*v)).collect(), text: text.map(str::to_owned) }
    }

    fn two() -> Vec<Question> {
        let mut questions = builtin();
        questions.retain(|q| q.key == "clarity" || q.key == "recommend");
        questions
    }

    #[test]
    fn results_need_the_threshold_and_never_below_three() {
        let qs = two();
        let four: Vec<Answers> = (0..4).map(|i| answers(&[3, 9 - i], Some("fine"))).collect();
        assert_eq!(summarize(&qs, &four, 5, 1), Err(Withheld::TooFew { min_group: 5 }));
        assert_eq!(summarize(&qs, &four[..2], 1, 1), Err(Withheld::TooFew { min_group: 3 }), "floor of 3");
        let results = summarize(&qs, &four, 4, 1).unwrap();
        assert_eq!(results.respondents, 4);
        assert_eq!(results.questions[0].mean, Some(3.0));
        assert_eq!(results.questions[0].distribution, [0, 0, 4, 0, 0]);
        // 9, 8, 7, 6: one promoter, one detractor.
        assert_eq!(results.questions[1].net_score, Some(0.0));
        assert_eq!(results.comments.len(), 4);
    }

    #[test]
    fn a_question_or_comments_below_the_threshold_show_counts_only() {
        let qs = two();
        let mut five: Vec<Answers> = (0..5).map(|_| answers(&[4, 10], None)).collect();
        for a in &mut five[..3] {
            a.values[1] = None;
        }
        five[0].text = Some("only me".into());
        let results = summarize(&qs, &five, 5, 7).unwrap();
        assert_eq!(results.questions[1].answered, 2);
        assert_eq!(results.questions[1].mean, None);
        assert!(results.questions[1].distribution.is_empty());
        assert!(results.comments.is_empty(), "one comment would be one person's");
    }

    #[test]
    fn validation_names_the_question() {
        let qs = two();
        assert!(validate(&qs, &answers(&[3, 10], None)).is_ok());
        assert_eq!(validate(&qs, &answers(&[6, 10], None)).unwrap_err(), "`clarity`: 6 is outside 1–5");
        assert!(validate(&qs, &answers(&[3], None)).unwrap_err().contains("1 answers for 2 questions"));
    }

    #[test]
    fn surveys_that_would_single_out_a_few_people_are_not_both_released() {
        let people = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<BTreeSet<_>>();
        let survey = |id, names: &[&str], closed| Respondents {
            id,
            people: people(names),
            answers: names.len(),
            closed,
            min_group: 5,
            decided: None,
        };
        let surveys = [
            survey(1, &["a", "b", "c", "d", "e"], true),
            // The same people again: nothing to subtract.
            survey(2, &["a", "b", "c", "d", "e"], true),
            // One more person: subtracting survey 1 would give f's answers.
            survey(3, &["a", "b", "c", "d", "e", "f"], true),
            // Five new people: far enough from survey 1.
            survey(4, &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], true),
            survey(5, &["k", "l"], true),
            survey(6, &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], false),
        ];
        let verdicts = release(&surveys, 5);
        assert_eq!(
            verdicts,
            [
                (1, Ok(())),
                (2, Ok(())),
                (3, Err(Withheld::Differencing { with: 1 })),
                (4, Ok(())),
                (5, Err(Withheld::TooFew { min_group: 5 })),
                (6, Err(Withheld::Open)),
            ]
        );
    }

    #[test]
    fn decided_verdicts_stay_and_the_stricter_threshold_applies() {
        let people = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<BTreeSet<_>>();
        let names: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let first = Respondents {
            id: 1,
            people: people(&names[..5]),
            answers: 5,
            closed: true,
            min_group: 5,
            decided: Some(Err(Withheld::Open)),
        };
        // Decided withheld: a later survey is not compared with it.
        let second = Respondents { id: 2, people: people(&names[..6]), decided: None, ..first.clone() };
        assert_eq!(release(&[first.clone(), second.clone()], 5)[1].1, Ok(()));
        // A survey asking for 8 is differenced with one differing by 6 < 8.
        let strict = Respondents { id: 3, people: people(&names[..11]), answers: 11, min_group: 8, ..second.clone() };
        let verdicts = release(&[second, strict], 5);
        assert_eq!(verdicts[1].1, Err(Withheld::Differencing { with: 2 }));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut items: Vec<u32> = (0..50).collect();
        shuffle(&mut items, 42);
        assert_ne!(items, (0..50).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..50).collect::<Vec<_>>());
    }
}
