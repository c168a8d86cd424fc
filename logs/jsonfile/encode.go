package jsonfile

import (
	"unicode/utf8"
)

// safe marks the ASCII bytes that appendString copies as they are.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '\\' && b != '"' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendEntry appends one json-file line, byte for byte as Docker's
// jsonlog.JSONLogs.MarshalJSONBuf writes it:
// {"log":"…","stream":"stdout","attrs":{…},"time":"RFC 3339 nano"}\n.
// attrs is already JSON, or empty; ts is the time in RFC 3339 with
// nanoseconds.
func appendEntry(buf, line []byte, newline bool, stream string, attrs []byte, ts []byte) []byte {
	first := true
	buf = append(buf, '{')
	if len(line) > 0 || newline {
		first = false
		buf = append(buf, `"log":`...)
		buf = appendString(buf, line, newline)
	}
	if stream != "" {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, `"stream":`...)
		buf = appendString(buf, []byte(stream), false)
	}
	if len(attrs) > 0 {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, `"attrs":`...)
		buf = append(buf, attrs...)
	}
	if !first {
		buf = append(buf, ',')
	}
	buf = append(buf, `"time":"`...)
	buf = append(buf, ts...)
	return append(buf, `"}`+"\n"...)
}

// appendString is Docker's ffjsonWriteJSONBytesAsString: HTML characters
// and every control character but \n and \r as \u00XX, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 escaped. newline adds an escaped \n.
func appendString(buf, s []byte, newline bool) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '\\', '"':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRune(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	if newline {
		buf = append(buf, '\\', 'n')
	}
	return append(buf, '"')
}
