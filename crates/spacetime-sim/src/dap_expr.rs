//! The debug adapter's `evaluate`: a small game state and Godot-like arithmetic on it.
//!
//! Why hand-written: `evalexpr`, the obvious crate, is AGPL-3.0 from version 12 on (this crate is MIT/Apache), and
//! the float-only evaluators (`meval`, `fasteval`) lose the int/float distinction the DAP `type` field reports. The
//! grammar needed is tiny (numbers, dotted names, `+ - * /`, unary minus, parentheses), so a recursive-descent parser
//! of about a hundred lines is the smaller dependency.
//!
//! Semantics follow GDScript's `Expression`: int op int stays int (division truncates), a float on either side gives
//! a float, integer overflow and division by zero are errors, and `Vector3` values can be read but take no part in
//! arithmetic here (an error names the operand types, as Godot does).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Float(f64),
    Vector3([f64; 3]),
}

impl Value {
    /// The DAP `type` field, in Godot's type names.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Vector3(_) => "Vector3",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => write!(f, "{n}"),
            // `{:?}` keeps the ".0" of whole floats, so "100.0" reads as a float the way GDScript's str() does.
            Self::Float(x) => write!(f, "{x:?}"),
            // Vector components print like Godot's: "(0, 1.6, 0)".
            Self::Vector3([x, y, z]) => write!(f, "({x}, {y}, {z})"),
        }
    }
}

/// The game state `evaluate` reads: the names the runbook's and the harness's expressions use.
fn lookup(name: &str) -> Option<Value> {
    Some(match name {
        "player.health" => Value::Int(100),
        "player.position" => Value::Vector3([0.0, 1.6, 0.0]),
        "player.jetpack_fuel" => Value::Float(100.0),
        _ => return None,
    })
}

/// Evaluate one expression; the error text becomes the DAP error response's `message`.
pub(crate) fn evaluate(expr: &str) -> Result<Value, String> {
    let mut p = Parser { src: expr.as_bytes(), pos: 0 };
    let v = p.sum()?;
    p.skip_ws();
    if p.pos != p.src.len() {
        return Err(format!("Unexpected character '{}' at {} in \"{expr}\"", p.src[p.pos] as char, p.pos));
    }
    Ok(v)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, ops: &[u8]) -> Option<u8> {
        self.skip_ws();
        let c = *self.src.get(self.pos)?;
        ops.contains(&c).then(|| {
            self.pos += 1;
            c
        })
    }

    fn sum(&mut self) -> Result<Value, String> {
        let mut acc = self.product()?;
        while let Some(op) = self.eat(b"+-") {
            acc = apply(op, acc, self.product()?)?;
        }
        Ok(acc)
    }

    fn product(&mut self) -> Result<Value, String> {
        let mut acc = self.unary()?;
        while let Some(op) = self.eat(b"*/") {
            acc = apply(op, acc, self.unary()?)?;
        }
        Ok(acc)
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat(b"-").is_some() {
            return apply(b'-', Value::Int(0), self.unary()?);
        }
        self.eat(b"+");
        self.atom()
    }

    fn atom(&mut self) -> Result<Value, String> {
        if self.eat(b"(").is_some() {
            let v = self.sum()?;
            return match self.eat(b")") {
                Some(_) => Ok(v),
                None => Err("Expected ')'".into()),
            };
        }
        self.skip_ws();
        let start = self.pos;
        match self.src.get(start) {
            Some(c) if c.is_ascii_digit() || *c == b'.' => {
                self.take_while(|c| c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E');
                let text = self.text(start);
                if let Ok(n) = text.parse::<i64>() {
                    return Ok(Value::Int(n));
                }
                text.parse::<f64>().map(Value::Float).map_err(|_| format!("Invalid number \"{text}\""))
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
                let name = self.text(start);
                lookup(name).ok_or_else(|| format!("Unknown identifier '{name}'"))
            }
            Some(c) => Err(format!("Unexpected character '{}' at {start}", *c as char)),
            None => Err("Unexpected end of expression".into()),
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.src.get(self.pos).is_some_and(|c| f(*c)) {
            self.pos += 1;
        }
    }

    fn text(&self, start: usize) -> &str {
        // Only ASCII bytes were consumed, so the slice is valid UTF-8.
        std::str::from_utf8(&self.src[start..self.pos]).unwrap_or_default()
    }
}

fn apply(op: u8, a: Value, b: Value) -> Result<Value, String> {
    let op_name = op as char;
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => {
            let r = match op {
                b'+' => x.checked_add(*y),
                b'-' => x.checked_sub(*y),
                b'*' => x.checked_mul(*y),
                _ if *y == 0 => return Err("Division by zero error in operator '/'.".into()),
                _ => x.checked_div(*y),
            };
            r.map(Value::Int).ok_or_else(|| format!("Integer overflow in operator '{op_name}'."))
        }
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (as_f64(&a), as_f64(&b));
            Ok(Value::Float(match op {
                b'+' => x + y,
                b'-' => x - y,
                b'*' => x * y,
                _ => x / y,
            }))
        }
        _ => Err(format!("Invalid operands '{}' and '{}' in operator '{op_name}'.", a.type_name(), b.type_name())),
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Float(x) => *x,
        Value::Vector3(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(expr: &str) -> (String, &'static str) {
        let v = evaluate(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        (v.to_string(), v.type_name())
    }

    #[test]
    fn reads_the_game_state() {
        assert_eq!(show("player.health"), ("100".into(), "int"));
        assert_eq!(show(" player.position "), ("(0, 1.6, 0)".into(), "Vector3"));
        assert_eq!(show("player.jetpack_fuel"), ("100.0".into(), "float"));
    }

    #[test]
    fn arithmetic_follows_gdscript_types_and_precedence() {
        assert_eq!(show("player.health * 2 + 1"), ("201".into(), "int"));
        assert_eq!(show("(player.health - 10) / 4"), ("22".into(), "int"));
        assert_eq!(show("player.jetpack_fuel / 4"), ("25.0".into(), "float"));
        assert_eq!(show("-(1 + 2) * -3"), ("9".into(), "int"));
        assert_eq!(show("0.5 + 1"), ("1.5".into(), "float"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(evaluate("player.mana").unwrap_err().contains("'player.mana'"));
        assert!(evaluate("1 / 0").unwrap_err().contains("Division by zero"));
        assert!(evaluate("player.position + 1").unwrap_err().contains("'Vector3' and 'int'"));
        assert!(evaluate("(1 + 2").unwrap_err().contains("')'"));
        assert!(evaluate("1 +").is_err());
        assert!(evaluate("1 2").is_err());
        assert!(evaluate("9223372036854775807 + 1").unwrap_err().contains("overflow"));
    }
}
