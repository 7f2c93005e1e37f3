-- Clearing a family's sealed successors at each rotation visited every token the family ever
-- issued (the family index alone), so a refresh slowed down as its family aged. Only tokens
-- still holding a sealed successor (at most a few per family) are indexed here.
CREATE INDEX refresh_tokens_sealed ON refresh_tokens (family_id)
    WHERE sealed_successor IS NOT NULL;
