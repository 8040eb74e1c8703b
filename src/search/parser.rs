//! Recursive-descent parser for the grammar of §6.3.1: tokens in, syntax tree out. It checks
//! syntax and the nesting limit only; field names and literal types are checked afterwards.

use super::ast::{Expr, Literal, RawPredicate, RawTest};
use super::lexer::{Keyword, LexError, Lexer, Token};

/// Each `(` and each `not` prefix is one level (§6.3.2).
pub(crate) const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Syntax,
    TooDeep,
}

impl From<LexError> for ParseError {
    fn from(_: LexError) -> Self {
        ParseError::Syntax
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// Parses a non-blank search.
pub(crate) fn parse(src: &str) -> Result<Expr<RawPredicate<'_>>> {
    let mut parser = Parser { lexer: Lexer::new(src), peeked: None, depth: 0 };
    let expr = parser.expression()?;
    match parser.next()? {
        None => Ok(expr),
        Some(_) => Err(ParseError::Syntax),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// One token of look-ahead; `Some(None)` means the end of input was seen.
    peeked: Option<Option<Token<'a>>>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Option<&Token<'a>>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().and_then(Option::as_ref))
    }

    fn next(&mut self) -> Result<Option<Token<'a>>> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => Ok(self.lexer.next_token()?),
        }
    }

    fn expect(&mut self, wanted: &Token<'_>) -> Result<()> {
        match self.next()? {
            Some(token) if token == *wanted => Ok(()),
            _ => Err(ParseError::Syntax),
        }
    }

    fn eat_keyword(&mut self, keyword: Keyword) -> Result<bool> {
        if self.peek()? == Some(&Token::Keyword(keyword)) {
            self.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect_keyword(&mut self, keyword: Keyword) -> Result<()> {
        self.expect(&Token::Keyword(keyword))
    }

    fn expression(&mut self) -> Result<Expr<RawPredicate<'a>>> {
        let mut terms = vec![self.term()?];
        while self.eat_keyword(Keyword::Or)? {
            terms.push(self.term()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Expr::Or(terms) })
    }

    fn term(&mut self) -> Result<Expr<RawPredicate<'a>>> {
        let mut factors = vec![self.factor()?];
        while self.eat_keyword(Keyword::And)? {
            factors.push(self.factor()?);
        }
        Ok(if factors.len() == 1 { factors.remove(0) } else { Expr::And(factors) })
    }

    /// Enters one nesting level; the limit is checked when the level is opened, which is the
    /// point where a left-to-right reader notices it.
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn factor(&mut self) -> Result<Expr<RawPredicate<'a>>> {
        match self.next()? {
            Some(Token::Keyword(Keyword::Not)) => self.nested(|p| Ok(Expr::Not(Box::new(p.factor()?)))),
            Some(Token::LParen) => self.nested(|p| {
                let inner = p.expression()?;
                p.expect(&Token::RParen)?;
                Ok(inner)
            }),
            Some(Token::Field(field)) => Ok(Expr::Pred(RawPredicate { field, test: self.test()? })),
            _ => Err(ParseError::Syntax),
        }
    }

    /// Everything of a predicate after its field.
    fn test(&mut self) -> Result<RawTest<'a>> {
        match self.next()? {
            Some(Token::Compare(op)) => Ok(RawTest::Compare(op, self.literal()?)),
            Some(Token::Keyword(Keyword::Is)) => {
                let negated = self.eat_keyword(Keyword::Not)?;
                self.expect_keyword(Keyword::Null)?;
                Ok(RawTest::IsNull { negated })
            }
            Some(Token::Keyword(Keyword::Not)) => match self.next()? {
                Some(Token::Keyword(keyword)) => self.negatable(keyword, true),
                _ => Err(ParseError::Syntax),
            },
            Some(Token::Keyword(keyword)) => self.negatable(keyword, false),
            _ => Err(ParseError::Syntax),
        }
    }

    fn negatable(&mut self, keyword: Keyword, negated: bool) -> Result<RawTest<'a>> {
        match keyword {
            Keyword::Like | Keyword::Ilike => match self.next()? {
                Some(Token::Str(pattern)) => {
                    Ok(RawTest::Like { negated, case_insensitive: keyword == Keyword::Ilike, pattern })
                }
                _ => Err(ParseError::Syntax),
            },
            Keyword::In => {
                self.expect(&Token::LParen)?;
                let mut values = vec![self.literal()?];
                loop {
                    match self.next()? {
                        Some(Token::Comma) => values.push(self.literal()?),
                        Some(Token::RParen) => break,
                        _ => return Err(ParseError::Syntax),
                    }
                }
                Ok(RawTest::In { negated, values })
            }
            Keyword::Between => {
                let low = self.literal()?;
                self.expect_keyword(Keyword::And)?;
                let high = self.literal()?;
                Ok(RawTest::Between { negated, low, high })
            }
            _ => Err(ParseError::Syntax),
        }
    }

    fn literal(&mut self) -> Result<Literal<'a>> {
        match self.next()? {
            Some(Token::Str(text)) => Ok(Literal::Str(text)),
            Some(Token::Num(text)) => Ok(Literal::Num(text)),
            _ => Err(ParseError::Syntax),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ast::CmpOp;
    use super::*;

    fn eq<'a>(field: &'a str, value: &str) -> Expr<RawPredicate<'a>> {
        Expr::Pred(RawPredicate { field, test: RawTest::Compare(CmpOp::Eq, Literal::Str(value.into())) })
    }

    fn not<P>(inner: Expr<P>) -> Expr<P> {
        Expr::Not(Box::new(inner))
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse("a = 'x' or b = 'y' and c = 'z'").unwrap(),
            Expr::Or(vec![eq("a", "x"), Expr::And(vec![eq("b", "y"), eq("c", "z")])])
        );
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(
            parse("(a = 'x' or b = 'y') and c = 'z'").unwrap(),
            Expr::And(vec![Expr::Or(vec![eq("a", "x"), eq("b", "y")]), eq("c", "z")])
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(parse("not a = 'x' and b = 'y'").unwrap(), Expr::And(vec![not(eq("a", "x")), eq("b", "y")]));
        assert_eq!(parse("not not (a = 'x')").unwrap(), not(not(eq("a", "x"))));
    }

    #[test]
    fn chains_of_the_same_operator_are_flat() {
        assert_eq!(
            parse("a = 'x' or b = 'y' or c = 'z'").unwrap(),
            Expr::Or(vec![eq("a", "x"), eq("b", "y"), eq("c", "z")])
        );
    }

    #[test]
    fn the_and_inside_between_belongs_to_between() {
        assert_eq!(
            parse("g between 1 and 2 and h = 'x'").unwrap(),
            Expr::And(vec![
                Expr::Pred(RawPredicate {
                    field: "g",
                    test: RawTest::Between { negated: false, low: Literal::Num("1"), high: Literal::Num("2") },
                }),
                eq("h", "x"),
            ])
        );
    }

    #[test]
    fn negated_infix_operators() {
        let tests: Vec<_> = [
            "f not like 'p'",
            "f not ilike 'p'",
            "f not in (1, 'a')",
            "f not between 'a' and 'b'",
            "f is not null",
            "f is null",
        ]
        .iter()
        .map(|src| match parse(src).unwrap() {
            Expr::Pred(p) => p.test,
            other => panic!("{src}: {other:?}"),
        })
        .collect();
        assert_eq!(
            tests,
            vec![
                RawTest::Like { negated: true, case_insensitive: false, pattern: "p".into() },
                RawTest::Like { negated: true, case_insensitive: true, pattern: "p".into() },
                RawTest::In { negated: true, values: vec![Literal::Num("1"), Literal::Str("a".into())] },
                RawTest::Between { negated: true, low: Literal::Str("a".into()), high: Literal::Str("b".into()) },
                RawTest::IsNull { negated: true },
                RawTest::IsNull { negated: false },
            ]
        );
    }

    #[test]
    fn syntax_errors() {
        let cases = [
            ("name", "a field without an operator"),
            ("name =", "a missing literal"),
            ("= 'x'", "a missing field"),
            ("name = 'x' and", "a dangling and"),
            ("or name = 'x'", "a leading or"),
            ("(name = 'x'", "an unclosed parenthesis"),
            ("name = 'x')", "an unopened parenthesis"),
            ("()", "empty parentheses"),
            ("name = 'x' name = 'y'", "trailing input"),
            ("name = other", "a field on the right-hand side"),
            ("'1' = '1'", "a literal on the left-hand side"),
            ("name like 2", "a like pattern that is not a string"),
            ("name in ()", "an empty in list"),
            ("name in ('a',)", "a trailing comma in an in list"),
            ("name in 'a'", "an in list without parentheses"),
            ("name between 1", "a between without and"),
            ("name between 1 or 2", "a between with or"),
            ("name is 'x'", "is without null"),
            ("name is not", "is not without null"),
            ("name not = 'x'", "not before a comparison"),
            ("name not null", "not null without is"),
            ("not", "a lone not"),
            ("name = 'x' not", "a trailing not"),
            ("lower(name) = 'x'", "a function call"),
            ("name = null", "null as a literal"),
            ("and = 'x'", "a keyword as a field"),
            ("name = 'x' AND", "a dangling upper-case AND"),
        ];
        for (src, why) in cases {
            assert_eq!(parse(src), Err(ParseError::Syntax), "{why}: {src:?}");
        }
    }

    fn nested_parens(levels: usize) -> String {
        format!("{}a = 'x'{}", "(".repeat(levels), ")".repeat(levels))
    }

    fn nested_nots(levels: usize) -> String {
        format!("{}a = 'x'", "not ".repeat(levels))
    }

    #[test]
    fn nesting_is_limited_to_32_levels() {
        assert!(parse(&nested_parens(32)).is_ok());
        assert_eq!(parse(&nested_parens(33)), Err(ParseError::TooDeep));
        assert!(parse(&nested_nots(32)).is_ok());
        assert_eq!(parse(&nested_nots(33)), Err(ParseError::TooDeep));
        // Parentheses and not prefixes add up.
        let mixed = format!("{}{}", "not (".repeat(16), nested_parens(0));
        assert!(parse(&format!("{mixed}{}", ")".repeat(16))).is_ok());
        let deeper = format!("not {}{}", mixed, ")".repeat(16));
        assert_eq!(parse(&deeper), Err(ParseError::TooDeep));
    }

    #[test]
    fn sibling_groups_do_not_add_up() {
        let group = nested_parens(32);
        assert!(parse(&format!("{group} and {group} or not {}", nested_nots(31))).is_ok());
    }

    #[test]
    fn the_in_list_parenthesis_is_not_a_level() {
        let src = format!("{}a in ('x'){}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&src).is_ok());
    }

    #[test]
    fn the_first_problem_from_the_left_wins() {
        // A syntax error before the 33rd level is a syntax error...
        let early = format!("\"{}", nested_parens(40));
        assert_eq!(parse(&early), Err(ParseError::Syntax));
        // ...and a syntax error after it is never reached, even a lexical one.
        let late = format!("{}\" unterminated '", "(".repeat(33));
        assert_eq!(parse(&late), Err(ParseError::TooDeep));
    }
}
