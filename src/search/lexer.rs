//! Turns the text of a search into tokens, one at a time, by maximal munch (§6.3.1).
//! Tokens are produced on demand so that the parser reports whichever of a syntax error and the
//! nesting limit comes first when reading left to right.

use super::ast::CmpOp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Like,
    Ilike,
    Between,
    Is,
    Null,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        const KEYWORDS: [(&str, Keyword); 9] = [
            ("and", Keyword::And),
            ("or", Keyword::Or),
            ("not", Keyword::Not),
            ("in", Keyword::In),
            ("like", Keyword::Like),
            ("ilike", Keyword::Ilike),
            ("between", Keyword::Between),
            ("is", Keyword::Is),
            ("null", Keyword::Null),
        ];
        KEYWORDS.iter().find(|(text, _)| word.eq_ignore_ascii_case(text)).map(|&(_, keyword)| keyword)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A word that is not a keyword; field names are case-sensitive, so the text is kept as is.
    Field(&'a str),
    Keyword(Keyword),
    /// A string literal with its `''` escapes already undone.
    Str(String),
    /// A number literal as written; its type check happens later, per predicate.
    Num(&'a str),
    Compare(CmpOp),
    LParen,
    RParen,
    Comma,
}

/// Any lexical error is a syntax error, and syntax errors all carry the same message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LexError;

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_field_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_field_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek_byte(&self, ahead: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + ahead).copied()
    }

    /// The next token, `Ok(None)` at the end of the input.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token<'a>>, LexError> {
        while self.peek_byte(0).is_some_and(is_whitespace) {
            self.pos += 1;
        }
        let Some(b) = self.peek_byte(0) else {
            return Ok(None);
        };
        let token = match b {
            b'(' => self.single(Token::LParen),
            b')' => self.single(Token::RParen),
            b',' => self.single(Token::Comma),
            b'=' => self.single(Token::Compare(CmpOp::Eq)),
            b'<' => match self.peek_byte(1) {
                Some(b'=') => self.double(Token::Compare(CmpOp::Le)),
                Some(b'>') => self.double(Token::Compare(CmpOp::Ne)),
                _ => self.single(Token::Compare(CmpOp::Lt)),
            },
            b'>' => match self.peek_byte(1) {
                Some(b'=') => self.double(Token::Compare(CmpOp::Ge)),
                _ => self.single(Token::Compare(CmpOp::Gt)),
            },
            b'!' => match self.peek_byte(1) {
                Some(b'=') => self.double(Token::Compare(CmpOp::Ne)),
                _ => return Err(LexError),
            },
            b'\'' => self.string()?,
            b'-' if self.peek_byte(1).is_some_and(|c| c.is_ascii_digit()) => self.number()?,
            b'0'..=b'9' => self.number()?,
            b if is_field_start(b) => self.word(),
            _ => return Err(LexError),
        };
        Ok(Some(token))
    }

    fn single(&mut self, token: Token<'a>) -> Token<'a> {
        self.pos += 1;
        token
    }

    fn double(&mut self, token: Token<'a>) -> Token<'a> {
        self.pos += 2;
        token
    }

    fn word(&mut self) -> Token<'a> {
        let start = self.pos;
        while self.peek_byte(0).is_some_and(is_field_char) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        match Keyword::from_word(word) {
            Some(keyword) => Token::Keyword(keyword),
            None => Token::Field(word),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek_byte(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Token<'a>, LexError> {
        let start = self.pos;
        if self.peek_byte(0) == Some(b'-') {
            self.pos += 1;
        }
        self.digits();
        // The fraction and exponent are only part of the number when digits follow; otherwise the
        // number ends before them and the check below rejects what is left.
        if self.peek_byte(0) == Some(b'.') && self.peek_byte(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.peek_byte(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek_byte(1), Some(b'+' | b'-')));
            if self.peek_byte(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1 + sign;
                self.digits();
            }
        }
        if self.peek_byte(0).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return Err(LexError);
        }
        Ok(Token::Num(&self.src[start..self.pos]))
    }

    fn string(&mut self) -> Result<Token<'a>, LexError> {
        // Skip the opening quote; every quote inside is either doubled or the closing one.
        self.pos += 1;
        let mut value = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(quote) = rest.find('\'') else {
                return Err(LexError);
            };
            value.push_str(&rest[..quote]);
            self.pos += quote + 1;
            if self.peek_byte(0) == Some(b'\'') {
                value.push('\'');
                self.pos += 1;
            } else {
                return Ok(Token::Str(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Vec<Token<'_>>, LexError> {
        let mut lexer = Lexer::new(src);
        let mut tokens = Vec::new();
        while let Some(token) = lexer.next_token()? {
            tokens.push(token);
        }
        Ok(tokens)
    }

    #[test]
    fn tokens_need_no_whitespace_around_operators_and_strings() {
        assert_eq!(
            lex("name='x'and(generation>=-2)").unwrap(),
            vec![
                Token::Field("name"),
                Token::Compare(CmpOp::Eq),
                Token::Str("x".into()),
                Token::Keyword(Keyword::And),
                Token::LParen,
                Token::Field("generation"),
                Token::Compare(CmpOp::Ge),
                Token::Num("-2"),
                Token::RParen,
            ]
        );
    }

    #[test]
    fn comparison_operators_are_formed_by_maximal_munch() {
        let ops: Vec<_> = lex("< <= <> > >= = !=")
            .unwrap()
            .into_iter()
            .map(|t| match t {
                Token::Compare(op) => op,
                other => panic!("expected an operator, got {other:?}"),
            })
            .collect();
        assert_eq!(ops, [CmpOp::Lt, CmpOp::Le, CmpOp::Ne, CmpOp::Gt, CmpOp::Ge, CmpOp::Eq, CmpOp::Ne]);
        // `<>=` is `<>` then `=`, not `<` then `>=`.
        assert_eq!(lex("<>=").unwrap(), vec![Token::Compare(CmpOp::Ne), Token::Compare(CmpOp::Eq)]);
    }

    #[test]
    fn keywords_are_case_insensitive_and_fields_keep_their_case() {
        assert_eq!(
            lex("AnD oR NOT iN LiKe ILIKE between IS Null NAME").unwrap(),
            vec![
                Token::Keyword(Keyword::And),
                Token::Keyword(Keyword::Or),
                Token::Keyword(Keyword::Not),
                Token::Keyword(Keyword::In),
                Token::Keyword(Keyword::Like),
                Token::Keyword(Keyword::Ilike),
                Token::Keyword(Keyword::Between),
                Token::Keyword(Keyword::Is),
                Token::Keyword(Keyword::Null),
                Token::Field("NAME"),
            ]
        );
    }

    #[test]
    fn a_field_token_takes_dots_dashes_and_slashes() {
        assert_eq!(
            lex("labels.example.com/team-x_1 notx and1").unwrap(),
            vec![Token::Field("labels.example.com/team-x_1"), Token::Field("notx"), Token::Field("and1"),]
        );
    }

    #[test]
    fn strings_undo_doubled_quotes_and_keep_backslashes() {
        assert_eq!(
            lex(r"'it''s' '' '''' 'a\b' 'ünï'").unwrap(),
            vec![
                Token::Str("it's".into()),
                Token::Str(String::new()),
                Token::Str("'".into()),
                Token::Str(r"a\b".into()),
                Token::Str("ünï".into()),
            ]
        );
    }

    #[test]
    fn numbers_take_sign_fraction_and_exponent() {
        assert_eq!(
            lex("1 -2 3.5 4e10 5E+3 6.25e-2 007").unwrap(),
            vec![
                Token::Num("1"),
                Token::Num("-2"),
                Token::Num("3.5"),
                Token::Num("4e10"),
                Token::Num("5E+3"),
                Token::Num("6.25e-2"),
                Token::Num("007"),
            ]
        );
    }

    #[test]
    fn lexical_errors() {
        let cases = [
            ("'abc", "unterminated string"),
            ("'it''", "string ends on a doubled quote"),
            ("\"x\"", "double quotes delimit nothing"),
            ("`x`", "backticks"),
            (";", "semicolon"),
            ("-- c", "a comment"),
            ("/* c */", "a block comment"),
            ("!", "a lone bang"),
            ("- 1", "a minus that does not start a number"),
            ("1a", "a number followed by a letter"),
            ("1_", "a number followed by an underscore"),
            ("1e", "an exponent without digits"),
            ("1.5x", "a fraction followed by a letter"),
            ("2E+", "a signed exponent without digits"),
            ("é", "a non-ASCII letter outside a string"),
            ("\u{a0}", "a no-break space is not whitespace"),
            ("\u{b}", "a vertical tab is not whitespace"),
            (".x", "a dot cannot start a field"),
            ("1+1", "arithmetic"),
        ];
        for (src, why) in cases {
            assert_eq!(lex(src), Err(LexError), "{why}: {src:?}");
        }
    }
}
