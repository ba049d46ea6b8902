//! Colour values and the distance between them.
//!
//! Distance is CIE76 ΔE: the Euclidean distance between two colours in CIELAB (D65). A ΔE of
//! about 2.3 is the smallest difference most people notice, so it measures "looks the same" far
//! better than distance in RGB, where equal steps are not equally visible.

use cssparser::color::{PredefinedColorSpace, parse_hash_color};
use cssparser_color::{Color, hsl_to_rgb, hwb_to_rgb};

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: f32,
}

/// CIELAB coordinates (D65 white).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lab {
    l: f64,
    a: f64,
    b: f64,
}

impl Rgba {
    pub fn opaque(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b, a: 1.0 }
    }

    /// `#rrggbb`, or `#rrggbbaa` when not opaque; lower case, so equal colours compare equal.
    pub fn hex(&self) -> String {
        if self.a >= 1.0 {
            format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
        } else {
            format!("#{:02x}{:02x}{:02x}{:02x}", self.r, self.g, self.b, unit_to_byte(self.a))
        }
    }

    pub(crate) fn lab(&self) -> Lab {
        let [r, g, b] = [self.r, self.g, self.b].map(|c| to_linear(f64::from(c) / 255.0));
        let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
        let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b;
        let z = 0.019_333_9 * r + 0.119_192_0 * g + 0.950_304_1 * b;
        let (fx, fy, fz) = (lab_f(x / 0.950_47), lab_f(y), lab_f(z / 1.088_83));
        Lab { l: 116.0 * fy - 16.0, a: 500.0 * (fx - fy), b: 200.0 * (fy - fz) }
    }

    fn from_unit(r: f32, g: f32, b: f32, a: f32) -> Self {
        Self { r: unit_to_byte(r), g: unit_to_byte(g), b: unit_to_byte(b), a: sane(a).clamp(0.0, 1.0) }
    }

    fn from_linear(rgb: [f64; 3], a: f32) -> Self {
        let [r, g, b] = rgb.map(|c| from_linear(c) as f32);
        Self::from_unit(r, g, b, a)
    }
}

/// CIE76 colour difference.
pub(crate) fn delta_e(x: Lab, y: Lab) -> f64 {
    ((x.l - y.l).powi(2) + (x.a - y.a).powi(2) + (x.b - y.b).powi(2)).sqrt()
}

/// A palette value: `#rgb`, `#rrggbb` (or with alpha), the `#` optional.
pub fn parse_hex(value: &str) -> Option<Rgba> {
    let digits = value.trim().trim_start_matches('#');
    let (r, g, b, a) = parse_hash_color(digits.as_bytes()).ok()?;
    Some(Rgba { r, g, b, a })
}

/// What a parsed CSS colour is in sRGB; `Err` names what cannot be checked.
pub(crate) fn to_rgba(color: &Color) -> Result<Option<Rgba>, String> {
    let alpha = |a: Option<f32>| a.unwrap_or(1.0);
    Ok(Some(match *color {
        Color::CurrentColor => return Ok(None),
        Color::Rgba(c) => Rgba { r: c.red, g: c.green, b: c.blue, a: sane(c.alpha).clamp(0.0, 1.0) },
        Color::Hsl(c) => {
            let (r, g, b) = hsl_to_rgb(hue_unit(c.hue), unit(c.saturation), unit(c.lightness));
            Rgba::from_unit(r, g, b, alpha(c.alpha))
        }
        Color::Hwb(c) => {
            let (r, g, b) = hwb_to_rgb(hue_unit(c.hue), unit(c.whiteness), unit(c.blackness));
            Rgba::from_unit(r, g, b, alpha(c.alpha))
        }
        Color::Lab(c) => Rgba::from_linear(lab_d50_to_linear_srgb(num(c.lightness), num(c.a), num(c.b)), alpha(c.alpha)),
        Color::Lch(c) => {
            let (a, b) = polar(num(c.chroma), num(c.hue));
            Rgba::from_linear(lab_d50_to_linear_srgb(num(c.lightness), a, b), alpha(c.alpha))
        }
        Color::Oklab(c) => Rgba::from_linear(oklab_to_linear_srgb(num(c.lightness), num(c.a), num(c.b)), alpha(c.alpha)),
        Color::Oklch(c) => {
            let (a, b) = polar(num(c.chroma), num(c.hue));
            Rgba::from_linear(oklab_to_linear_srgb(num(c.lightness), a, b), alpha(c.alpha))
        }
        Color::ColorFunction(c) => match c.color_space {
            PredefinedColorSpace::Srgb => Rgba::from_unit(unit(c.c1), unit(c.c2), unit(c.c3), alpha(c.alpha)),
            PredefinedColorSpace::SrgbLinear => Rgba::from_linear([num(c.c1), num(c.c2), num(c.c3)], alpha(c.alpha)),
            other => return Err(format!("colours in the {other:?} space are not checked")),
        },
    }))
}

/// NaN and infinities (from odd input) read as 0, so no conversion below sees them.
fn sane(v: f32) -> f32 {
    if v.is_finite() { v } else { 0.0 }
}

fn unit(v: Option<f32>) -> f32 {
    sane(v.unwrap_or(0.0)).clamp(0.0, 1.0)
}

fn num(v: Option<f32>) -> f64 {
    f64::from(sane(v.unwrap_or(0.0)))
}

/// Hue in degrees to the 0..=1 turn the conversion functions expect.
fn hue_unit(h: Option<f32>) -> f32 {
    (sane(h.unwrap_or(0.0)).rem_euclid(360.0) / 360.0).clamp(0.0, 1.0)
}

fn polar(chroma: f64, hue_deg: f64) -> (f64, f64) {
    let h = hue_deg.to_radians();
    (chroma * h.cos(), chroma * h.sin())
}

fn unit_to_byte(v: f32) -> u8 {
    // The clamp bounds the value to 0..=255, so the cast cannot truncate.
    (sane(v).clamp(0.0, 1.0) * 255.0).round() as u8
}

fn to_linear(c: f64) -> f64 {
    if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn from_linear(c: f64) -> f64 {
    let c = if c.is_finite() { c.clamp(0.0, 1.0) } else { 0.0 };
    if c <= 0.003_130_8 { c * 12.92 } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 }
}

fn lab_f(t: f64) -> f64 {
    const D: f64 = 6.0 / 29.0;
    if t > D * D * D { t.cbrt() } else { t / (3.0 * D * D) + 4.0 / 29.0 }
}

fn lab_f_inv(t: f64) -> f64 {
    const D: f64 = 6.0 / 29.0;
    if t > D { t * t * t } else { 3.0 * D * D * (t - 4.0 / 29.0) }
}

fn mat(m: [[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    m.map(|row| row[0] * v[0] + row[1] * v[1] + row[2] * v[2])
}

/// CSS `lab()`/`lch()` are CIELAB relative to D50: to XYZ D50, Bradford-adapt to D65, to sRGB.
fn lab_d50_to_linear_srgb(l: f64, a: f64, b: f64) -> [f64; 3] {
    let fy = (l + 16.0) / 116.0;
    let xyz_d50 = [0.964_22 * lab_f_inv(fy + a / 500.0), lab_f_inv(fy), 0.825_21 * lab_f_inv(fy - b / 200.0)];
    const D50_TO_D65: [[f64; 3]; 3] = [
        [0.955_473_452_704_218_2, -0.023_098_536_874_261_423, 0.063_259_308_661_021_7],
        [-0.028_369_706_963_208_136, 1.009_995_458_005_822_6, 0.021_041_398_966_943_008],
        [0.012_314_001_688_319_899, -0.020_507_696_433_477_912, 1.330_365_936_608_075_3],
    ];
    mat(XYZ_D65_TO_SRGB, mat(D50_TO_D65, xyz_d50))
}

const XYZ_D65_TO_SRGB: [[f64; 3]; 3] = [
    [3.240_969_941_904_522_6, -1.537_383_177_570_094, -0.498_610_760_293_003_4],
    [-0.969_243_636_280_879_6, 1.875_967_501_507_720_2, 0.041_555_057_407_175_59],
    [0.055_630_079_696_993_66, -0.203_976_958_888_976_52, 1.056_971_514_242_878_6],
];

fn oklab_to_linear_srgb(l: f64, a: f64, b: f64) -> [f64; 3] {
    let l_ = (l + 0.396_337_777_4 * a + 0.215_803_757_3 * b).powi(3);
    let m_ = (l - 0.105_561_345_8 * a - 0.063_854_172_8 * b).powi(3);
    let s_ = (l - 0.089_484_177_5 * a - 1.291_485_548 * b).powi(3);
    [
        4.076_741_662_1 * l_ - 3.307_711_591_3 * m_ + 0.230_969_929_2 * s_,
        -1.268_438_004_6 * l_ + 2.609_757_401_1 * m_ - 0.341_319_396_5 * s_,
        -0.004_196_086_3 * l_ - 0.703_418_614_7 * m_ + 1.707_614_701 * s_,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cssparser::Parser;

    fn css(value: &str) -> Rgba {
        let mut parser = Parser::new(value);
        to_rgba(&Color::parse(&mut parser).unwrap()).unwrap().unwrap()
    }

    #[test]
    fn hex_forms_normalise() {
        assert_eq!(parse_hex("#1F4D3A").unwrap().hex(), "#1f4d3a");
        assert_eq!(parse_hex("fff").unwrap().hex(), "#ffffff");
        assert_eq!(parse_hex("#1f4d3a80").unwrap().hex(), "#1f4d3a80");
        assert_eq!(parse_hex("#12345"), None);
        assert_eq!(parse_hex("teal"), None);
    }

    #[test]
    fn functional_notations_agree() {
        assert_eq!(css("rgb(31, 77, 58)").hex(), "#1f4d3a");
        assert_eq!(css("rgb(31 77 58 / 50%)").hex(), "#1f4d3a80");
        // Checked against Python's colorsys.hls_to_rgb(155/360, 0.21, 0.43).
        assert_eq!(css("hsl(155, 43%, 21%)").hex(), "#1f4d39");
        assert_eq!(css("hwb(0 0% 0%)").hex(), "#ff0000");
        assert_eq!(css("rebeccapurple").hex(), "#663399");
        // lab(), lch() and oklch() of sRGB colours come back to the same bytes (±1).
        let lab = css("lab(54.29 80.8 69.89)");
        assert!((i16::from(lab.r) - 255).abs() <= 1 && lab.g <= 2 && lab.b <= 2, "{lab:?}");
        let ok = css("oklch(62.8% 0.2577 29.23)");
        assert!((i16::from(ok.r) - 255).abs() <= 1 && ok.g <= 2 && ok.b <= 2, "{ok:?}");
    }

    #[test]
    fn delta_e_known_values() {
        let white = Rgba::opaque(255, 255, 255).lab();
        let black = Rgba::opaque(0, 0, 0).lab();
        assert!((delta_e(white, black) - 100.0).abs() < 0.01);
        // Red in Lab is about (53.24, 80.09, 67.20).
        let red = Rgba::opaque(255, 0, 0).lab();
        assert!((red.l - 53.24).abs() < 0.05 && (red.a - 80.09).abs() < 0.05 && (red.b - 67.20).abs() < 0.05, "{red:?}");
        let a = Rgba::opaque(0x1f, 0x4d, 0x3a).lab();
        let b = Rgba::opaque(0x1f, 0x4e, 0x3a).lab();
        assert!(delta_e(a, b) < 1.0);
    }
}
