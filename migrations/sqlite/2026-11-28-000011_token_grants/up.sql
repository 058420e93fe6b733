-- What a token may do beyond its role: 'indicators' lets a procurement token read
-- indicators (procurement reads and shares supplier assessments, not indicators,
-- unless granted). Comma-separated; empty for none.
ALTER TABLE tokens ADD COLUMN grants TEXT NOT NULL DEFAULT '';
