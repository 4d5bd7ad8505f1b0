//! Static market reference data: every ISO 3166-1 alpha-2 country code (plus
//! the user-assigned `XK` for Kosovo) with the ISO 4217 currency a business is
//! billed in there and that currency's number of minor units (decimals).
//!
//! Conventions used for ambiguous cases (see the per-entry comments):
//! * territories without a currency of their own use the currency of the
//!   administering state, or USD when there is none (AQ);
//! * where several currencies are legal tender, the national currency is used,
//!   except where it is pegged and practically unused for billing (PA, ZW -> USD);
//! * euro-area members and territories using the euro (by agreement or
//!   unilaterally) use EUR, including BG (since 2026) and HR (since 2023);
//! * the current ISO 4217 codes are used (VES, SLE, MRU, STN, XCG for CW/SX).

/// One ISO 3166-1 country (plus XK Kosovo) and the currency billed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountryInfo {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub code: &'static str,
    /// English short name.
    pub name: &'static str,
    /// ISO 4217 alphabetic currency code.
    pub currency: &'static str,
    /// ISO 4217 minor units (number of decimals).
    pub minor_units: u8,
}

/// All 249 officially assigned ISO 3166-1 alpha-2 codes plus `XK` (Kosovo),
/// sorted by `code` so that [`country`] can binary-search.
#[rustfmt::skip]
pub static COUNTRIES: &[CountryInfo] = &[
    CountryInfo { code: "AD", name: "Andorra", currency: "EUR", minor_units: 2 }, // euro via monetary agreement with the EU
    CountryInfo { code: "AE", name: "United Arab Emirates", currency: "AED", minor_units: 2 },
    CountryInfo { code: "AF", name: "Afghanistan", currency: "AFN", minor_units: 2 },
    CountryInfo { code: "AG", name: "Antigua and Barbuda", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "AI", name: "Anguilla", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "AL", name: "Albania", currency: "ALL", minor_units: 2 },
    CountryInfo { code: "AM", name: "Armenia", currency: "AMD", minor_units: 2 },
    CountryInfo { code: "AO", name: "Angola", currency: "AOA", minor_units: 2 },
    CountryInfo { code: "AQ", name: "Antarctica", currency: "USD", minor_units: 2 }, // no currency of its own; USD by convention
    CountryInfo { code: "AR", name: "Argentina", currency: "ARS", minor_units: 2 },
    CountryInfo { code: "AS", name: "American Samoa", currency: "USD", minor_units: 2 },
    CountryInfo { code: "AT", name: "Austria", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "AU", name: "Australia", currency: "AUD", minor_units: 2 },
    CountryInfo { code: "AW", name: "Aruba", currency: "AWG", minor_units: 2 },
    CountryInfo { code: "AX", name: "Åland Islands", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "AZ", name: "Azerbaijan", currency: "AZN", minor_units: 2 },
    CountryInfo { code: "BA", name: "Bosnia and Herzegovina", currency: "BAM", minor_units: 2 },
    CountryInfo { code: "BB", name: "Barbados", currency: "BBD", minor_units: 2 },
    CountryInfo { code: "BD", name: "Bangladesh", currency: "BDT", minor_units: 2 },
    CountryInfo { code: "BE", name: "Belgium", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "BF", name: "Burkina Faso", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "BG", name: "Bulgaria", currency: "EUR", minor_units: 2 }, // euro since 2026-01-01 (was BGN)
    CountryInfo { code: "BH", name: "Bahrain", currency: "BHD", minor_units: 3 },
    CountryInfo { code: "BI", name: "Burundi", currency: "BIF", minor_units: 0 },
    CountryInfo { code: "BJ", name: "Benin", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "BL", name: "Saint Barthélemy", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "BM", name: "Bermuda", currency: "BMD", minor_units: 2 },
    CountryInfo { code: "BN", name: "Brunei Darussalam", currency: "BND", minor_units: 2 },
    CountryInfo { code: "BO", name: "Bolivia", currency: "BOB", minor_units: 2 },
    CountryInfo { code: "BQ", name: "Bonaire, Sint Eustatius and Saba", currency: "USD", minor_units: 2 }, // Caribbean Netherlands adopted USD in 2011
    CountryInfo { code: "BR", name: "Brazil", currency: "BRL", minor_units: 2 },
    CountryInfo { code: "BS", name: "Bahamas", currency: "BSD", minor_units: 2 },
    CountryInfo { code: "BT", name: "Bhutan", currency: "BTN", minor_units: 2 }, // INR also legal tender; BTN is the national currency
    CountryInfo { code: "BV", name: "Bouvet Island", currency: "NOK", minor_units: 2 }, // uninhabited Norwegian dependency
    CountryInfo { code: "BW", name: "Botswana", currency: "BWP", minor_units: 2 },
    CountryInfo { code: "BY", name: "Belarus", currency: "BYN", minor_units: 2 },
    CountryInfo { code: "BZ", name: "Belize", currency: "BZD", minor_units: 2 },
    CountryInfo { code: "CA", name: "Canada", currency: "CAD", minor_units: 2 },
    CountryInfo { code: "CC", name: "Cocos (Keeling) Islands", currency: "AUD", minor_units: 2 },
    CountryInfo { code: "CD", name: "Congo, The Democratic Republic of the", currency: "CDF", minor_units: 2 },
    CountryInfo { code: "CF", name: "Central African Republic", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "CG", name: "Congo", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "CH", name: "Switzerland", currency: "CHF", minor_units: 2 },
    CountryInfo { code: "CI", name: "Côte d'Ivoire", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "CK", name: "Cook Islands", currency: "NZD", minor_units: 2 },
    CountryInfo { code: "CL", name: "Chile", currency: "CLP", minor_units: 0 },
    CountryInfo { code: "CM", name: "Cameroon", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "CN", name: "China", currency: "CNY", minor_units: 2 },
    CountryInfo { code: "CO", name: "Colombia", currency: "COP", minor_units: 2 },
    CountryInfo { code: "CR", name: "Costa Rica", currency: "CRC", minor_units: 2 },
    CountryInfo { code: "CU", name: "Cuba", currency: "CUP", minor_units: 2 }, // CUC withdrawn 2021
    CountryInfo { code: "CV", name: "Cabo Verde", currency: "CVE", minor_units: 2 },
    CountryInfo { code: "CW", name: "Curaçao", currency: "XCG", minor_units: 2 }, // Caribbean guilder replaced ANG on 2025-03-31
    CountryInfo { code: "CX", name: "Christmas Island", currency: "AUD", minor_units: 2 },
    CountryInfo { code: "CY", name: "Cyprus", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "CZ", name: "Czechia", currency: "CZK", minor_units: 2 },
    CountryInfo { code: "DE", name: "Germany", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "DJ", name: "Djibouti", currency: "DJF", minor_units: 0 },
    CountryInfo { code: "DK", name: "Denmark", currency: "DKK", minor_units: 2 },
    CountryInfo { code: "DM", name: "Dominica", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "DO", name: "Dominican Republic", currency: "DOP", minor_units: 2 },
    CountryInfo { code: "DZ", name: "Algeria", currency: "DZD", minor_units: 2 },
    CountryInfo { code: "EC", name: "Ecuador", currency: "USD", minor_units: 2 }, // dollarised since 2000
    CountryInfo { code: "EE", name: "Estonia", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "EG", name: "Egypt", currency: "EGP", minor_units: 2 },
    CountryInfo { code: "EH", name: "Western Sahara", currency: "MAD", minor_units: 2 }, // disputed; Moroccan-administered area uses MAD
    CountryInfo { code: "ER", name: "Eritrea", currency: "ERN", minor_units: 2 },
    CountryInfo { code: "ES", name: "Spain", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "ET", name: "Ethiopia", currency: "ETB", minor_units: 2 },
    CountryInfo { code: "FI", name: "Finland", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "FJ", name: "Fiji", currency: "FJD", minor_units: 2 },
    CountryInfo { code: "FK", name: "Falkland Islands (Malvinas)", currency: "FKP", minor_units: 2 },
    CountryInfo { code: "FM", name: "Micronesia, Federated States of", currency: "USD", minor_units: 2 },
    CountryInfo { code: "FO", name: "Faroe Islands", currency: "DKK", minor_units: 2 }, // Faroese krona is a DKK issue with no ISO code
    CountryInfo { code: "FR", name: "France", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "GA", name: "Gabon", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "GB", name: "United Kingdom", currency: "GBP", minor_units: 2 },
    CountryInfo { code: "GD", name: "Grenada", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "GE", name: "Georgia", currency: "GEL", minor_units: 2 },
    CountryInfo { code: "GF", name: "French Guiana", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "GG", name: "Guernsey", currency: "GBP", minor_units: 2 },
    CountryInfo { code: "GH", name: "Ghana", currency: "GHS", minor_units: 2 },
    CountryInfo { code: "GI", name: "Gibraltar", currency: "GIP", minor_units: 2 },
    CountryInfo { code: "GL", name: "Greenland", currency: "DKK", minor_units: 2 },
    CountryInfo { code: "GM", name: "Gambia", currency: "GMD", minor_units: 2 },
    CountryInfo { code: "GN", name: "Guinea", currency: "GNF", minor_units: 0 },
    CountryInfo { code: "GP", name: "Guadeloupe", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "GQ", name: "Equatorial Guinea", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "GR", name: "Greece", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "GS", name: "South Georgia and the South Sandwich Islands", currency: "GBP", minor_units: 2 }, // British overseas territory; no resident businesses
    CountryInfo { code: "GT", name: "Guatemala", currency: "GTQ", minor_units: 2 },
    CountryInfo { code: "GU", name: "Guam", currency: "USD", minor_units: 2 },
    CountryInfo { code: "GW", name: "Guinea-Bissau", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "GY", name: "Guyana", currency: "GYD", minor_units: 2 },
    CountryInfo { code: "HK", name: "Hong Kong", currency: "HKD", minor_units: 2 },
    CountryInfo { code: "HM", name: "Heard Island and McDonald Islands", currency: "AUD", minor_units: 2 }, // uninhabited Australian territory
    CountryInfo { code: "HN", name: "Honduras", currency: "HNL", minor_units: 2 },
    CountryInfo { code: "HR", name: "Croatia", currency: "EUR", minor_units: 2 }, // euro since 2023-01-01 (was HRK)
    CountryInfo { code: "HT", name: "Haiti", currency: "HTG", minor_units: 2 }, // USD widely used, but HTG is the national currency
    CountryInfo { code: "HU", name: "Hungary", currency: "HUF", minor_units: 2 },
    CountryInfo { code: "ID", name: "Indonesia", currency: "IDR", minor_units: 2 },
    CountryInfo { code: "IE", name: "Ireland", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "IL", name: "Israel", currency: "ILS", minor_units: 2 },
    CountryInfo { code: "IM", name: "Isle of Man", currency: "GBP", minor_units: 2 },
    CountryInfo { code: "IN", name: "India", currency: "INR", minor_units: 2 },
    CountryInfo { code: "IO", name: "British Indian Ocean Territory", currency: "USD", minor_units: 2 }, // USD is the de facto currency (Diego Garcia)
    CountryInfo { code: "IQ", name: "Iraq", currency: "IQD", minor_units: 3 },
    CountryInfo { code: "IR", name: "Iran", currency: "IRR", minor_units: 2 },
    CountryInfo { code: "IS", name: "Iceland", currency: "ISK", minor_units: 0 },
    CountryInfo { code: "IT", name: "Italy", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "JE", name: "Jersey", currency: "GBP", minor_units: 2 },
    CountryInfo { code: "JM", name: "Jamaica", currency: "JMD", minor_units: 2 },
    CountryInfo { code: "JO", name: "Jordan", currency: "JOD", minor_units: 3 },
    CountryInfo { code: "JP", name: "Japan", currency: "JPY", minor_units: 0 },
    CountryInfo { code: "KE", name: "Kenya", currency: "KES", minor_units: 2 },
    CountryInfo { code: "KG", name: "Kyrgyzstan", currency: "KGS", minor_units: 2 },
    CountryInfo { code: "KH", name: "Cambodia", currency: "KHR", minor_units: 2 },
    CountryInfo { code: "KI", name: "Kiribati", currency: "AUD", minor_units: 2 }, // Kiribati dollar coins are an AUD issue
    CountryInfo { code: "KM", name: "Comoros", currency: "KMF", minor_units: 0 },
    CountryInfo { code: "KN", name: "Saint Kitts and Nevis", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "KP", name: "North Korea", currency: "KPW", minor_units: 2 },
    CountryInfo { code: "KR", name: "South Korea", currency: "KRW", minor_units: 0 },
    CountryInfo { code: "KW", name: "Kuwait", currency: "KWD", minor_units: 3 },
    CountryInfo { code: "KY", name: "Cayman Islands", currency: "KYD", minor_units: 2 },
    CountryInfo { code: "KZ", name: "Kazakhstan", currency: "KZT", minor_units: 2 },
    CountryInfo { code: "LA", name: "Laos", currency: "LAK", minor_units: 2 },
    CountryInfo { code: "LB", name: "Lebanon", currency: "LBP", minor_units: 2 },
    CountryInfo { code: "LC", name: "Saint Lucia", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "LI", name: "Liechtenstein", currency: "CHF", minor_units: 2 },
    CountryInfo { code: "LK", name: "Sri Lanka", currency: "LKR", minor_units: 2 },
    CountryInfo { code: "LR", name: "Liberia", currency: "LRD", minor_units: 2 },
    CountryInfo { code: "LS", name: "Lesotho", currency: "LSL", minor_units: 2 }, // ZAR also legal tender; LSL is the national currency
    CountryInfo { code: "LT", name: "Lithuania", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "LU", name: "Luxembourg", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "LV", name: "Latvia", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "LY", name: "Libya", currency: "LYD", minor_units: 3 },
    CountryInfo { code: "MA", name: "Morocco", currency: "MAD", minor_units: 2 },
    CountryInfo { code: "MC", name: "Monaco", currency: "EUR", minor_units: 2 }, // euro via monetary agreement with the EU
    CountryInfo { code: "MD", name: "Moldova", currency: "MDL", minor_units: 2 },
    CountryInfo { code: "ME", name: "Montenegro", currency: "EUR", minor_units: 2 }, // unilateral euro use
    CountryInfo { code: "MF", name: "Saint Martin (French part)", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "MG", name: "Madagascar", currency: "MGA", minor_units: 2 },
    CountryInfo { code: "MH", name: "Marshall Islands", currency: "USD", minor_units: 2 },
    CountryInfo { code: "MK", name: "North Macedonia", currency: "MKD", minor_units: 2 },
    CountryInfo { code: "ML", name: "Mali", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "MM", name: "Myanmar", currency: "MMK", minor_units: 2 },
    CountryInfo { code: "MN", name: "Mongolia", currency: "MNT", minor_units: 2 },
    CountryInfo { code: "MO", name: "Macao", currency: "MOP", minor_units: 2 },
    CountryInfo { code: "MP", name: "Northern Mariana Islands", currency: "USD", minor_units: 2 },
    CountryInfo { code: "MQ", name: "Martinique", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "MR", name: "Mauritania", currency: "MRU", minor_units: 2 },
    CountryInfo { code: "MS", name: "Montserrat", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "MT", name: "Malta", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "MU", name: "Mauritius", currency: "MUR", minor_units: 2 },
    CountryInfo { code: "MV", name: "Maldives", currency: "MVR", minor_units: 2 },
    CountryInfo { code: "MW", name: "Malawi", currency: "MWK", minor_units: 2 },
    CountryInfo { code: "MX", name: "Mexico", currency: "MXN", minor_units: 2 },
    CountryInfo { code: "MY", name: "Malaysia", currency: "MYR", minor_units: 2 },
    CountryInfo { code: "MZ", name: "Mozambique", currency: "MZN", minor_units: 2 },
    CountryInfo { code: "NA", name: "Namibia", currency: "NAD", minor_units: 2 }, // ZAR also legal tender; NAD is the national currency
    CountryInfo { code: "NC", name: "New Caledonia", currency: "XPF", minor_units: 0 },
    CountryInfo { code: "NE", name: "Niger", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "NF", name: "Norfolk Island", currency: "AUD", minor_units: 2 },
    CountryInfo { code: "NG", name: "Nigeria", currency: "NGN", minor_units: 2 },
    CountryInfo { code: "NI", name: "Nicaragua", currency: "NIO", minor_units: 2 },
    CountryInfo { code: "NL", name: "Netherlands", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "NO", name: "Norway", currency: "NOK", minor_units: 2 },
    CountryInfo { code: "NP", name: "Nepal", currency: "NPR", minor_units: 2 },
    CountryInfo { code: "NR", name: "Nauru", currency: "AUD", minor_units: 2 },
    CountryInfo { code: "NU", name: "Niue", currency: "NZD", minor_units: 2 },
    CountryInfo { code: "NZ", name: "New Zealand", currency: "NZD", minor_units: 2 },
    CountryInfo { code: "OM", name: "Oman", currency: "OMR", minor_units: 3 },
    CountryInfo { code: "PA", name: "Panama", currency: "USD", minor_units: 2 }, // PAB is pegged 1:1 to USD and rarely used for billing
    CountryInfo { code: "PE", name: "Peru", currency: "PEN", minor_units: 2 },
    CountryInfo { code: "PF", name: "French Polynesia", currency: "XPF", minor_units: 0 },
    CountryInfo { code: "PG", name: "Papua New Guinea", currency: "PGK", minor_units: 2 },
    CountryInfo { code: "PH", name: "Philippines", currency: "PHP", minor_units: 2 },
    CountryInfo { code: "PK", name: "Pakistan", currency: "PKR", minor_units: 2 },
    CountryInfo { code: "PL", name: "Poland", currency: "PLN", minor_units: 2 },
    CountryInfo { code: "PM", name: "Saint Pierre and Miquelon", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "PN", name: "Pitcairn", currency: "NZD", minor_units: 2 },
    CountryInfo { code: "PR", name: "Puerto Rico", currency: "USD", minor_units: 2 },
    CountryInfo { code: "PS", name: "Palestine, State of", currency: "ILS", minor_units: 2 }, // ILS is the main circulating currency (JOD/USD also used)
    CountryInfo { code: "PT", name: "Portugal", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "PW", name: "Palau", currency: "USD", minor_units: 2 },
    CountryInfo { code: "PY", name: "Paraguay", currency: "PYG", minor_units: 0 },
    CountryInfo { code: "QA", name: "Qatar", currency: "QAR", minor_units: 2 },
    CountryInfo { code: "RE", name: "Réunion", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "RO", name: "Romania", currency: "RON", minor_units: 2 },
    CountryInfo { code: "RS", name: "Serbia", currency: "RSD", minor_units: 2 },
    CountryInfo { code: "RU", name: "Russian Federation", currency: "RUB", minor_units: 2 },
    CountryInfo { code: "RW", name: "Rwanda", currency: "RWF", minor_units: 0 },
    CountryInfo { code: "SA", name: "Saudi Arabia", currency: "SAR", minor_units: 2 },
    CountryInfo { code: "SB", name: "Solomon Islands", currency: "SBD", minor_units: 2 },
    CountryInfo { code: "SC", name: "Seychelles", currency: "SCR", minor_units: 2 },
    CountryInfo { code: "SD", name: "Sudan", currency: "SDG", minor_units: 2 },
    CountryInfo { code: "SE", name: "Sweden", currency: "SEK", minor_units: 2 },
    CountryInfo { code: "SG", name: "Singapore", currency: "SGD", minor_units: 2 },
    CountryInfo { code: "SH", name: "Saint Helena, Ascension and Tristan da Cunha", currency: "SHP", minor_units: 2 }, // SHP is at par with GBP; Ascension/Tristan da Cunha use SHP/GBP
    CountryInfo { code: "SI", name: "Slovenia", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "SJ", name: "Svalbard and Jan Mayen", currency: "NOK", minor_units: 2 }, // Norwegian territory
    CountryInfo { code: "SK", name: "Slovakia", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "SL", name: "Sierra Leone", currency: "SLE", minor_units: 2 },
    CountryInfo { code: "SM", name: "San Marino", currency: "EUR", minor_units: 2 }, // euro via monetary agreement with the EU
    CountryInfo { code: "SN", name: "Senegal", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "SO", name: "Somalia", currency: "SOS", minor_units: 2 },
    CountryInfo { code: "SR", name: "Suriname", currency: "SRD", minor_units: 2 },
    CountryInfo { code: "SS", name: "South Sudan", currency: "SSP", minor_units: 2 },
    CountryInfo { code: "ST", name: "Sao Tome and Principe", currency: "STN", minor_units: 2 },
    CountryInfo { code: "SV", name: "El Salvador", currency: "USD", minor_units: 2 }, // dollarised since 2001 (SVC no longer circulates)
    CountryInfo { code: "SX", name: "Sint Maarten (Dutch part)", currency: "XCG", minor_units: 2 }, // Caribbean guilder replaced ANG on 2025-03-31
    CountryInfo { code: "SY", name: "Syria", currency: "SYP", minor_units: 2 },
    CountryInfo { code: "SZ", name: "Eswatini", currency: "SZL", minor_units: 2 }, // ZAR also legal tender; SZL is the national currency
    CountryInfo { code: "TC", name: "Turks and Caicos Islands", currency: "USD", minor_units: 2 },
    CountryInfo { code: "TD", name: "Chad", currency: "XAF", minor_units: 0 },
    CountryInfo { code: "TF", name: "French Southern Territories", currency: "EUR", minor_units: 2 }, // uninhabited French territory
    CountryInfo { code: "TG", name: "Togo", currency: "XOF", minor_units: 0 },
    CountryInfo { code: "TH", name: "Thailand", currency: "THB", minor_units: 2 },
    CountryInfo { code: "TJ", name: "Tajikistan", currency: "TJS", minor_units: 2 },
    CountryInfo { code: "TK", name: "Tokelau", currency: "NZD", minor_units: 2 },
    CountryInfo { code: "TL", name: "Timor-Leste", currency: "USD", minor_units: 2 }, // dollarised (centavo coins are USD fractions)
    CountryInfo { code: "TM", name: "Turkmenistan", currency: "TMT", minor_units: 2 },
    CountryInfo { code: "TN", name: "Tunisia", currency: "TND", minor_units: 3 },
    CountryInfo { code: "TO", name: "Tonga", currency: "TOP", minor_units: 2 },
    CountryInfo { code: "TR", name: "Türkiye", currency: "TRY", minor_units: 2 },
    CountryInfo { code: "TT", name: "Trinidad and Tobago", currency: "TTD", minor_units: 2 },
    CountryInfo { code: "TV", name: "Tuvalu", currency: "AUD", minor_units: 2 }, // Tuvaluan dollar coins are an AUD issue
    CountryInfo { code: "TW", name: "Taiwan", currency: "TWD", minor_units: 2 },
    CountryInfo { code: "TZ", name: "Tanzania", currency: "TZS", minor_units: 2 },
    CountryInfo { code: "UA", name: "Ukraine", currency: "UAH", minor_units: 2 },
    CountryInfo { code: "UG", name: "Uganda", currency: "UGX", minor_units: 0 },
    CountryInfo { code: "UM", name: "United States Minor Outlying Islands", currency: "USD", minor_units: 2 }, // uninhabited US territories
    CountryInfo { code: "US", name: "United States", currency: "USD", minor_units: 2 },
    CountryInfo { code: "UY", name: "Uruguay", currency: "UYU", minor_units: 2 },
    CountryInfo { code: "UZ", name: "Uzbekistan", currency: "UZS", minor_units: 2 },
    CountryInfo { code: "VA", name: "Holy See (Vatican City State)", currency: "EUR", minor_units: 2 }, // euro via monetary agreement with the EU
    CountryInfo { code: "VC", name: "Saint Vincent and the Grenadines", currency: "XCD", minor_units: 2 },
    CountryInfo { code: "VE", name: "Venezuela", currency: "VES", minor_units: 2 }, // VES (Bolivar Soberano); VED digital bolivar exists but VES is the standard code
    CountryInfo { code: "VG", name: "Virgin Islands, British", currency: "USD", minor_units: 2 },
    CountryInfo { code: "VI", name: "Virgin Islands, U.S.", currency: "USD", minor_units: 2 },
    CountryInfo { code: "VN", name: "Vietnam", currency: "VND", minor_units: 0 },
    CountryInfo { code: "VU", name: "Vanuatu", currency: "VUV", minor_units: 0 },
    CountryInfo { code: "WF", name: "Wallis and Futuna", currency: "XPF", minor_units: 0 },
    CountryInfo { code: "WS", name: "Samoa", currency: "WST", minor_units: 2 },
    CountryInfo { code: "XK", name: "Kosovo", currency: "EUR", minor_units: 2 }, // not ISO-assigned (user-assigned code); unilateral euro use
    CountryInfo { code: "YE", name: "Yemen", currency: "YER", minor_units: 2 },
    CountryInfo { code: "YT", name: "Mayotte", currency: "EUR", minor_units: 2 },
    CountryInfo { code: "ZA", name: "South Africa", currency: "ZAR", minor_units: 2 },
    CountryInfo { code: "ZM", name: "Zambia", currency: "ZMW", minor_units: 2 },
    CountryInfo { code: "ZW", name: "Zimbabwe", currency: "USD", minor_units: 2 }, // ZWG (2024) exists but USD dominates commercial billing
];

/// Looks up a country by its exact (upper-case) ISO 3166-1 alpha-2 code.
pub fn country(code: &str) -> Option<&'static CountryInfo> {
    COUNTRIES.binary_search_by(|c| c.code.cmp(code)).ok().map(|i| &COUNTRIES[i])
}

/// ISO 4217 minor units of `currency` (exact upper-case alpha code), if that
/// currency is used by any entry of [`COUNTRIES`].
pub fn currency_minor_units(currency: &str) -> Option<u8> {
    COUNTRIES.iter().find(|c| c.currency == currency).map(|c| c.minor_units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAVAILABLE_MARKETS_CSV: &str = include_str!("../data/azure-reservations-unavailable-markets.csv");

    fn is_upper_alpha(s: &str, len: usize) -> bool {
        s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase())
    }

    #[test]
    fn has_250_entries() {
        assert_eq!(COUNTRIES.len(), 250);
    }

    #[test]
    fn codes_are_valid_unique_and_sorted() {
        for c in COUNTRIES {
            assert!(is_upper_alpha(c.code, 2), "bad code {:?}", c.code);
            assert!(!c.name.is_empty(), "empty name for {}", c.code);
        }
        for w in COUNTRIES.windows(2) {
            assert!(w[0].code < w[1].code, "not strictly sorted / duplicate: {} then {}", w[0].code, w[1].code);
        }
        for c in COUNTRIES {
            assert_eq!(country(c.code), Some(c));
        }
    }

    #[test]
    fn currencies_are_valid_and_consistent() {
        for c in COUNTRIES {
            assert!(is_upper_alpha(c.currency, 3), "bad currency {:?} for {}", c.currency, c.code);
            assert!(c.minor_units <= 3, "odd minor units for {}", c.code);
            assert_eq!(
                currency_minor_units(c.currency),
                Some(c.minor_units),
                "inconsistent minor units for {} ({})",
                c.currency,
                c.code
            );
        }
    }

    #[test]
    fn known_entries() {
        let check = |code: &str, cur: &str, mu: u8| {
            let c = country(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(c.currency, cur, "currency of {code}");
            assert_eq!(c.minor_units, mu, "minor units of {code}");
        };
        check("XK", "EUR", 2);
        check("AU", "AUD", 2);
        check("BR", "BRL", 2);
        check("JP", "JPY", 0);
        check("BH", "BHD", 3);
        check("KW", "KWD", 3);
        check("OM", "OMR", 3);
        check("JO", "JOD", 3);
        check("TN", "TND", 3);
        check("US", "USD", 2);
        check("AQ", "USD", 2);
        check("HR", "EUR", 2);
    }

    #[test]
    fn lookups() {
        assert_eq!(country("au"), None);
        assert_eq!(country(""), None);
        assert_eq!(country("ZZ"), None);
        assert_eq!(currency_minor_units("JPY"), Some(0));
        assert_eq!(currency_minor_units("KWD"), Some(3));
        assert_eq!(currency_minor_units("EUR"), Some(2));
        assert_eq!(currency_minor_units("XXX"), None);
    }

    #[test]
    fn all_unavailable_markets_present() {
        let csv = UNAVAILABLE_MARKETS_CSV.trim_start_matches('\u{feff}');
        let mut seen = 0;
        for line in csv.lines().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // The name column is quoted and may contain commas, the code column never does.
            let code = line.rsplit(',').next().unwrap_or("").trim().trim_matches('"');
            assert!(is_upper_alpha(code, 2), "bad code {code:?} in CSV line {line:?}");
            assert!(country(code).is_some(), "CSV market {code} missing from COUNTRIES");
            seen += 1;
        }
        assert!(seen > 100, "only {seen} CSV rows parsed");
    }
}
