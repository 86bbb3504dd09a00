/* The terminal markers of each style (WIRE.md), watched by an attempt's scanner. */
#include "terminal.h"

#include "attempt.h"
#include "clientstate.h"

/* The vendor's terminal event, as each style's stream ends properly (WIRE.md); custom: the
 * configured marker, or none. */
int terminal_watch(struct xfer *x)
{
    static const char *const chat[] = {"[DONE]"};
    static const char *const responses[] = {"response.completed", "response.incomplete"};
    static const char *const anthropic[] = {"message_stop"};
    /* a whole body: the field its end carries (WIRE.md) */
    static const char *const chat_body[] = {"\"finish_reason\":\""};
    static const char *const responses_body[] = {"\"status\":\"completed\"",
                                                 "\"status\":\"incomplete\""};
    static const char *const anthropic_body[] = {"\"stop_reason\":\""};
    /* Gemini ends a stream at EOF, no sentinel: the last chunk (or the body) says why */
    static const char *const gemini[] = {"\"finishReason\":\""};
    /* Ollama's last line, streamed or the whole stream:false body, says done */
    static const char *const ollama[] = {"\"done\":true"};
    /* Bedrock: Converse's stopReason (messageStop, or the body); InvokeModel's Anthropic end */
    static const char *const bedrock[] = {"\"stopReason\":\""};
    static const char *const invoke[] = {"\"message_stop\""};
    const char *custom[] = {x->c->cfg.req.terminal_marker};
    if (x->c->cfg.req.style == CHAOS_STYLE_GEMINI)
        return scanner_watch(&x->sc, gemini, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_OLLAMA)
        return scanner_watch(&x->sc, ollama, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_BEDROCK)
        return scanner_watch(&x->sc, bedrock, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_BEDROCK_INVOKE)
        return x->c->cfg.req.non_streaming ? scanner_watch(&x->sc, anthropic_body, 1)
                                           : scanner_watch(&x->sc, invoke, 1);
    if (x->c->cfg.req.non_streaming && x->c->cfg.req.style != CHAOS_STYLE_CUSTOM) {
        enum chaos_style st = x->c->cfg.req.style;
        return st == CHAOS_STYLE_OPENAI_CHAT || st == CHAOS_STYLE_COMPLETIONS ||
                       st == CHAOS_STYLE_AZURE
                   ? scanner_watch(&x->sc, chat_body, 1)
               : st == CHAOS_STYLE_RESPONSES ? scanner_watch(&x->sc, responses_body, 2)
                                             : scanner_watch(&x->sc, anthropic_body, 1);
    }
    switch (x->c->cfg.req.style) {
    case CHAOS_STYLE_OPENAI_CHAT:
    case CHAOS_STYLE_COMPLETIONS:
    case CHAOS_STYLE_AZURE:
        return scanner_watch(&x->sc, chat, 1);
    case CHAOS_STYLE_RESPONSES:
        return scanner_watch(&x->sc, responses, 2);
    case CHAOS_STYLE_ANTHROPIC:
        return scanner_watch(&x->sc, anthropic, 1);
    case CHAOS_STYLE_CUSTOM:
        /* the string is borrowed from the config, which outlives every transfer */
        return custom[0] ? scanner_watch(&x->sc, custom, 1) : 0;
    case CHAOS_STYLE_GEMINI:
    case CHAOS_STYLE_OLLAMA:
    case CHAOS_STYLE_BEDROCK:
    case CHAOS_STYLE_BEDROCK_INVOKE:
    case CHAOS_STYLE_COUNT:
        break;
    }
    return 0;
}
