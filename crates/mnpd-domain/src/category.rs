//! Mini program categories: the default tree every platform gets
//! (DescribeMNPCategory, DescribeMNPType), and the rule `MNPType` follows.
//!
//! `MNPType` is one or more `Category->Subcategory` joined by commas, e.g.
//! `Logistics Services->1_Pickup/Delivery,Life Service->144_Lilliputian Services`.
//! A subcategory is `N_Name`; it may be sent with or without its `N_`
//! prefix, and names match without regard to ASCII case. The stored value
//! is the canonical spelling of the tree.

use crate::entity::Platform;
use crate::error::DomainError;

/// At most this many categories in one `MNPType`.
pub const MAX_TYPES: usize = 5;
/// Longest `MNPType` accepted as sent, before it is parsed.
pub const MAX_TYPE_INPUT_CHARS: usize = 1000;
/// `CreateUser` of the built-in categories, as in the spec's example.
pub const SYSTEM_USER: &str = "admin";

/// A top-level category and its numbered subcategories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// `TypeId`.
    pub type_id: i64,
    /// `TypeName`.
    pub name: &'static str,
    /// `TypeValue`: "N_Name", N unique across the whole tree.
    pub subcategories: &'static [&'static str],
}

/// The default tree. The first two are the spec's DescribeMNPCategory
/// example, verbatim.
pub const CATEGORIES: &[Category] = &[
    Category {
        type_id: 10000,
        name: "Logistics Services",
        subcategories: &[
            "1_Pickup/Delivery",
            "2_Search",
            "10_Postal Service",
            "11_Loading and unloading",
            "12_Warehousing",
            "13_Express Locker",
            "14_Cargo Transportation",
        ],
    },
    Category {
        type_id: 10001,
        name: "Education Services",
        subcategories: &[
            "4_Driving School Training",
            "15_Academic Education (Training Institutions)",
            "16_Academic Education (Schools)",
            "18_Driving School Platform",
            "19_Education Platform",
            "20_Quality Education",
            "21_Infant and Toddler Education",
            "22_Educational Equipment",
            "23_Study Abroad",
            "24_Special Populations Education",
            "25_Online Video Courses",
            "307_Online Education",
        ],
    },
    Category {
        type_id: 10002,
        name: "Medical Service",
        subcategories: &[
            "26_Public Medical Institutions",
            "27_Private Medical Institutions",
            "28_Pharmacies",
            "29_Health Management",
            "30_Online Consultation",
            "31_Medical Equipment",
        ],
    },
    Category {
        type_id: 10003,
        name: "Life Service",
        subcategories: &[
            "144_Lilliputian Services",
            "145_Housekeeping",
            "146_Laundry",
            "147_Hairdressing and Beauty",
            "148_Wedding Services",
            "149_Pet Services",
            "150_Home Repair",
            "151_Property Management",
        ],
    },
    Category {
        type_id: 10004,
        name: "Food and Beverage",
        subcategories: &[
            "40_Restaurants",
            "41_Food Delivery",
            "42_Cafes and Tea Shops",
            "43_Bakeries and Desserts",
            "44_Recipes and Food Information",
        ],
    },
    Category {
        type_id: 10005,
        name: "Travel Services",
        subcategories: &[
            "50_Hotels and Lodging",
            "51_Travel Agencies",
            "52_Scenic Spots",
            "53_Travel Guides",
        ],
    },
    Category {
        type_id: 10006,
        name: "Transportation",
        subcategories: &[
            "60_Taxi and Ride-hailing",
            "61_Public Transit",
            "62_Parking",
            "63_Car Rental",
            "64_Flights",
            "65_Railways",
        ],
    },
    Category {
        type_id: 10007,
        name: "E-commerce",
        subcategories: &[
            "70_Online Retail",
            "71_Group Buying",
            "72_Second-hand Trading",
            "73_Membership and Loyalty",
        ],
    },
    Category {
        type_id: 10008,
        name: "Financial Services",
        subcategories: &[
            "80_Banking",
            "81_Insurance",
            "82_Payment Services",
            "83_Securities and Funds",
        ],
    },
    Category {
        type_id: 10009,
        name: "Tools",
        subcategories: &[
            "90_Information Query",
            "91_Office and Efficiency",
            "92_Calendar and Reminders",
            "93_Weather",
            "94_Calculators and Converters",
            "95_File Management",
        ],
    },
    Category {
        type_id: 10010,
        name: "Games",
        subcategories: &[
            "100_Casual Games",
            "101_Puzzle Games",
            "102_Board and Card Games",
            "103_Action Games",
            "104_Sports Games",
            "105_Role-playing Games",
        ],
    },
    Category {
        type_id: 10011,
        name: "Social",
        subcategories: &[
            "110_Social Networking",
            "111_Communities and Forums",
            "112_Live Streaming",
        ],
    },
    Category {
        type_id: 10012,
        name: "News and Entertainment",
        subcategories: &["120_News", "121_Video", "122_Music", "123_Reading"],
    },
    Category {
        type_id: 10013,
        name: "Government Affairs",
        subcategories: &["130_Public Services", "131_Government Information"],
    },
    Category {
        type_id: 10014,
        name: "Sports and Fitness",
        subcategories: &["140_Fitness", "141_Sports Venues", "142_Sports Events"],
    },
];

/// A category as a platform shows it (`MNPTypeDefine`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDefinition {
    pub type_id: i64,
    pub name: String,
    pub values: Vec<String>,
    /// The built-in tree is as old as the platform.
    pub created_at: i64,
    pub create_user: String,
    pub is_system: bool,
}

/// The categories of a platform: the default tree, the same on every
/// platform.
pub fn tree_of(platform: &Platform) -> Vec<CategoryDefinition> {
    CATEGORIES
        .iter()
        .map(|c| CategoryDefinition {
            type_id: c.type_id,
            name: c.name.to_string(),
            values: c.subcategories.iter().map(|s| s.to_string()).collect(),
            created_at: platform.created_at,
            create_user: SYSTEM_USER.to_string(),
            is_system: true,
        })
        .collect()
}

fn invalid(what: String) -> DomainError {
    DomainError::InvalidMnpType(format!(
        "{what}; send one to {MAX_TYPES} `Category->Subcategory` values joined by commas, e.g. `Life Service->144_Lilliputian Services` (DescribeMNPCategory lists the categories)"
    ))
}

/// The name of a subcategory without its `N_` prefix.
fn bare(subcategory: &str) -> &str {
    match subcategory.split_once('_') {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => subcategory,
    }
}

/// Checks `MNPType` against the tree and returns its canonical spelling:
/// `Category->N_Subcategory` entries joined by commas, without spaces
/// around the separators.
pub fn canonical_mnp_type(value: &str) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid("MNPType is empty".into()));
    }
    let chars = value.chars().count();
    if chars > MAX_TYPE_INPUT_CHARS {
        return Err(invalid(format!(
            "MNPType has {chars} characters, more than {MAX_TYPE_INPUT_CHARS}"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for entry in value.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(invalid(format!("MNPType `{value}` has an empty entry")));
        }
        let Some((category, subcategory)) = entry.split_once("->") else {
            return Err(invalid(format!(
                "`{entry}` in MNPType is not of the form Category->Subcategory"
            )));
        };
        let (category, subcategory) = (category.trim(), subcategory.trim());
        let Some(c) = CATEGORIES
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(category))
        else {
            return Err(invalid(format!(
                "`{category}` in MNPType is not a category"
            )));
        };
        let Some(s) = c.subcategories.iter().find(|s| {
            s.eq_ignore_ascii_case(subcategory) || bare(s).eq_ignore_ascii_case(subcategory)
        }) else {
            return Err(invalid(format!(
                "`{subcategory}` in MNPType is not a subcategory of `{}` (it has: {})",
                c.name,
                c.subcategories.join(", ")
            )));
        };
        let canonical = format!("{}->{s}", c.name);
        if out.contains(&canonical) {
            return Err(invalid(format!("MNPType names `{canonical}` twice")));
        }
        out.push(canonical);
    }
    if out.len() > MAX_TYPES {
        return Err(DomainError::TooManyMnpTypes(format!(
            "MNPType names {} categories; send at most {MAX_TYPES}",
            out.len()
        )));
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_well_formed() {
        assert!((10..=15).contains(&CATEGORIES.len()));
        let mut numbers = std::collections::HashSet::new();
        let mut ids = std::collections::HashSet::new();
        for c in CATEGORIES {
            assert!(ids.insert(c.type_id), "TypeId {} twice", c.type_id);
            assert!(
                !c.name.contains(',') && !c.name.contains("->"),
                "{}",
                c.name
            );
            assert!(!c.subcategories.is_empty());
            for s in c.subcategories {
                let (n, name) = s.split_once('_').unwrap();
                assert!(n.parse::<u32>().is_ok(), "{s}");
                assert!(numbers.insert(n.to_string()), "number {n} twice");
                assert!(
                    !name.is_empty() && !s.contains(',') && !s.contains("->"),
                    "{s}"
                );
            }
        }
    }

    #[test]
    fn spec_examples_are_valid_and_canonical() {
        for v in [
            "Life Service->144_Lilliputian Services",
            "Logistics Services->1_Pickup/Delivery,Life Service->144_Lilliputian Services",
            "Medical Service->26_Public Medical Institutions",
            "Education Services->307_Online Education",
        ] {
            assert_eq!(canonical_mnp_type(v).unwrap(), v);
        }
    }

    #[test]
    fn prefix_case_and_spaces_are_forgiven() {
        assert_eq!(
            canonical_mnp_type(
                " life service -> Lilliputian Services , Tools->91_office and efficiency "
            )
            .unwrap(),
            "Life Service->144_Lilliputian Services,Tools->91_Office and Efficiency"
        );
        assert_eq!(
            canonical_mnp_type("Logistics Services->Pickup/Delivery").unwrap(),
            "Logistics Services->1_Pickup/Delivery"
        );
    }

    #[test]
    fn refusals() {
        let code = |v: &str| match canonical_mnp_type(v) {
            Err(DomainError::InvalidMnpType(m)) => {
                assert!(m.contains("DescribeMNPCategory"), "{m}");
                "type"
            }
            Err(DomainError::TooManyMnpTypes(_)) => "count",
            other => panic!("{v}: {other:?}"),
        };
        for bad in [
            "",
            "  ",
            "Tools",
            "Game->Casual",
            "Tools->Nothing",
            "Tools->2_Search",
            "Tools->91_",
            "Life Service->144_Lilliputian Services,",
            "Tools->93_Weather,tools->Weather",
            "Logistics Services->1_Pickup/Delivery->x",
        ] {
            assert_eq!(code(bad), "type", "{bad:?}");
        }
        let six = [
            "Tools->90_Information Query",
            "Tools->91_Office and Efficiency",
            "Tools->92_Calendar and Reminders",
            "Tools->93_Weather",
            "Tools->94_Calculators and Converters",
            "Tools->95_File Management",
        ];
        assert_eq!(code(&six.join(",")), "count");
        assert!(canonical_mnp_type(&six[..5].join(",")).is_ok());
        assert_eq!(code(&"x".repeat(1001)), "type");
    }
}
