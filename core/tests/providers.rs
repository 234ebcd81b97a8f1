//! Provider wire parsers against recorded-looking fixtures
//! (`tests/data/providers/`): what a user would check on the resulting
//! span, plus robustness (every prefix of every fixture parses).

mod providers {
    use std::path::PathBuf;

    use bytes::Bytes;
    use tokentrace_core::providers::parse_exchange;
    use tokentrace_core::{ApiKind, Exchange, LlmCall, Message, Operation, Part, Str};

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/providers")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn exchange(api: ApiKind, req: &[u8], resp: &[u8], streaming: bool) -> Exchange {
        Exchange {
            api: Some(api),
            request_body: Bytes::copy_from_slice(req),
            response_body: Bytes::copy_from_slice(resp),
            streaming,
            status: Some(200),
            server_address: Some("api.example.com".into()),
            server_port: Some(443),
            ..Exchange::default()
        }
    }

    fn parse(api: ApiKind, req: &str, resp: &str, streaming: bool) -> LlmCall {
        parse_exchange(&exchange(api, &fixture(req), &fixture(resp), streaming))
    }

    fn strs(v: &[&str]) -> Vec<Str> {
        v.iter().map(|s| Str::from(*s)).collect()
    }

    fn text_of(m: &Message) -> String {
        m.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text { content } => Some(&**content),
                _ => None,
            })
            .collect()
    }

    fn tool_call(id: &str, name: &str, args: &str) -> Part {
        Part::ToolCall {
            id: Some(id.into()),
            name: name.into(),
            arguments: Some(args.into()),
        }
    }

    // ---- OpenAI chat ----

    #[test]
    fn openai_chat_request_response_and_usage() {
        let c = parse(
            ApiKind::OpenAiChatCompletions,
            "openai_chat/basic.request.json",
            "openai_chat/basic.response.json",
            false,
        );
        assert_eq!(&*c.provider, "openai");
        assert_eq!(c.operation, Operation::Chat);
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(c.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(
            c.response_id.as_deref(),
            Some("chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG")
        );
        assert_eq!(c.server_address.as_deref(), Some("api.example.com"));
        assert_eq!(c.server_port, Some(443));
        let p = &c.params;
        assert_eq!(p.temperature, Some(0.7));
        assert_eq!(p.top_p, Some(0.95));
        assert_eq!(p.max_tokens, Some(200));
        assert_eq!(p.frequency_penalty, Some(0.1));
        assert_eq!(p.presence_penalty, Some(0.2));
        assert_eq!(p.stop_sequences, strs(&["\n\n", "END"]));
        assert_eq!(p.seed, Some(42));
        assert_eq!(p.choice_count, Some(1));
        assert_eq!(p.stream, None);
        assert_eq!(p.output_type.as_deref(), Some("text"));

        // The system message stays an input message.
        assert_eq!(
            c.input_messages[0],
            Message::text("system", "You are a concise travel assistant.")
        );
        assert_eq!(c.input_messages[1].name.as_deref(), Some("alice"));
        assert!(c.system_instructions.is_empty());

        let out = &c.output_messages;
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].role, "assistant");
        assert_eq!(
            text_of(&out[0]),
            "The Musée d'Orsay, for its Impressionist collection."
        );
        assert_eq!(out[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.finish_reasons, strs(&["stop"]));

        // prompt_tokens already includes the cached tokens.
        assert_eq!(c.usage.input_tokens, Some(1117));
        assert_eq!(c.usage.cache_read_input_tokens, Some(1024));
        assert_eq!(c.usage.cache_write_input_tokens, None);
        assert_eq!(c.usage.output_tokens, Some(46));
        assert_eq!(c.usage.reasoning_tokens, Some(0));
        assert!(!c.usage.estimated);
        assert_eq!(c.error, None);
    }

    #[test]
    fn secrets_in_request_fields_are_never_captured() {
        let c = parse(
            ApiKind::OpenAiChatCompletions,
            "openai_chat/basic.request.json",
            "openai_chat/basic.response.json",
            false,
        );
        let all = format!("{c:?}");
        assert!(!all.contains("LEAKED"), "{all}");
        let c = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/response.json",
            false,
        );
        let all = format!("{c:?}");
        assert!(!all.contains("LEAKED"), "{all}");
    }

    #[test]
    fn openai_chat_multimodal_tool_history_and_tool_call_response() {
        let c = parse(
            ApiKind::OpenAiChatCompletions,
            "openai_chat/tools.request.json",
            "openai_chat/tools.response.json",
            false,
        );
        assert_eq!(c.params.max_tokens, Some(512));
        assert_eq!(c.params.output_type.as_deref(), Some("json"));
        let m = &c.input_messages;
        assert_eq!(m.len(), 5);
        assert_eq!(
            m[0],
            Message::text("developer", "Use the tools when useful.")
        );
        assert_eq!(
            m[1].parts[1],
            Part::Blob {
                modality: "image".into(),
                mime_type: Some("image/jpeg".into()),
                content: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"
                    .into(),
            }
        );
        assert_eq!(
            m[1].parts[2],
            Part::Uri {
                modality: "image".into(),
                mime_type: None,
                uri: "https://upload.example.org/eiffel.jpg".into(),
            }
        );
        assert_eq!(
            m[2].parts[..],
            vec![tool_call(
                "call_abc123",
                "get_weather",
                r#"{"city":"Paris","unit":"celsius"}"#
            )]
        );
        assert_eq!(
            m[3],
            Message::new(
                "tool",
                vec![Part::ToolCallResponse {
                    id: Some("call_abc123".into()),
                    response: r#"{"temp":18,"sky":"cloudy"}"#.into(),
                }]
            )
        );
        assert_eq!(c.tool_definitions.len(), 2);
        let d = &c.tool_definitions[0];
        assert_eq!((&*d.tool_type, &*d.name), ("function", "get_weather"));
        assert_eq!(d.description.as_deref(), Some("Current weather for a city"));
        let schema: serde_json::Value =
            serde_json::from_str(d.parameters.as_deref().unwrap()).unwrap();
        assert_eq!(schema["required"][0], "city");

        let out = &c.output_messages[0];
        assert_eq!(
            out.parts[..],
            vec![tool_call("call_time_1", "get_time", r#"{"city":"Paris"}"#)]
        );
        assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
        assert_eq!(c.finish_reasons, strs(&["tool_calls"]));
    }

    #[test]
    fn openai_chat_stream_with_usage_chunk() {
        let c = parse(
            ApiKind::OpenAiChatCompletions,
            "openai_chat/stream.request.json",
            "openai_chat/stream.sse",
            true,
        );
        assert_eq!(c.params.stream, Some(true));
        assert_eq!(c.params.max_tokens, Some(1000));
        assert_eq!(c.response_id.as_deref(), Some("chatcmpl-C1x2y3z4"));
        assert_eq!(c.response_model.as_deref(), Some("o4-mini-2025-04-16"));
        assert_eq!(c.output_messages.len(), 1);
        assert_eq!(
            text_of(&c.output_messages[0]),
            "Bonjour! (French)\n¡Hola! (Spanish)"
        );
        assert_eq!(c.output_messages[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.finish_reasons, strs(&["stop"]));
        assert_eq!(c.usage.input_tokens, Some(14));
        assert_eq!(c.usage.output_tokens, Some(212));
        assert_eq!(c.usage.reasoning_tokens, Some(192));
        assert_eq!(c.usage.cache_read_input_tokens, Some(0));
    }

    #[test]
    fn openai_chat_stream_parallel_tool_calls_without_usage() {
        let c = parse(
            ApiKind::OpenAiChatCompletions,
            "openai_chat/tools.request.json",
            "openai_chat/stream_tools.sse",
            true,
        );
        assert!(c.usage.is_empty(), "no usage chunk was sent");
        let out = &c.output_messages[0];
        assert_eq!(
            out.parts[..],
            vec![
                tool_call("call_w1", "get_weather", r#"{"city": "Paris"}"#),
                tool_call("call_t2", "get_time", r#"{"city": "Paris"}"#),
            ]
        );
        assert_eq!(out.finish_reason.as_deref(), Some("tool_call"));
        assert_eq!(c.finish_reasons, strs(&["tool_calls"]));
    }

    #[test]
    fn crlf_streams_parse_like_lf_streams() {
        for (api, req, sse) in [
            (
                ApiKind::OpenAiChatCompletions,
                "openai_chat/stream.request.json",
                "openai_chat/stream.sse",
            ),
            (
                ApiKind::OpenAiChatCompletions,
                "openai_chat/tools.request.json",
                "openai_chat/stream_tools.sse",
            ),
            (
                ApiKind::OpenAiResponses,
                "openai_responses/request.json",
                "openai_responses/stream.sse",
            ),
            (
                ApiKind::AnthropicMessages,
                "anthropic/request.json",
                "anthropic/stream.sse",
            ),
        ] {
            let lf = fixture(sse);
            let crlf = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n");
            let a = parse_exchange(&exchange(api, &fixture(req), &lf, true));
            let b = parse_exchange(&exchange(api, &fixture(req), crlf.as_bytes(), true));
            assert_eq!(a, b, "{sse}");
            assert!(!a.output_messages.is_empty(), "{sse}");
        }
    }

    #[test]
    fn cut_stream_keeps_what_arrived() {
        let body = String::from_utf8(fixture("openai_chat/stream.sse")).unwrap();
        // Cut in the middle of the fourth chunk's JSON.
        let cut_at = body.match_indices("data: ").nth(3).unwrap().0 + 40;
        let mut ex = exchange(
            ApiKind::OpenAiChatCompletions,
            &fixture("openai_chat/stream.request.json"),
            &body.as_bytes()[..cut_at],
            true,
        );
        ex.stream_incomplete = true;
        let c = parse_exchange(&ex);
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("error"),
            "a cut stream did not stop"
        );
        assert_eq!(text_of(&c.output_messages[0]), "Bonjour!");
        assert!(c.finish_reasons.is_empty());
        assert!(c.usage.is_empty());
        assert_eq!(c.response_model.as_deref(), Some("o4-mini-2025-04-16"));
        assert_eq!(c.error, None);
    }

    #[test]
    fn openai_rate_limit_error_uses_the_body_code() {
        let mut ex = exchange(
            ApiKind::OpenAiChatCompletions,
            &fixture("openai_chat/basic.request.json"),
            &fixture("openai_chat/error_429.json"),
            false,
        );
        ex.status = Some(429);
        let c = parse_exchange(&ex);
        let err = c.error.unwrap();
        assert_eq!(&*err.error_type, "rate_limit_exceeded");
        assert!(err.message.unwrap().starts_with("Rate limit reached"));
        // The request is still described.
        assert_eq!(c.request_model.as_deref(), Some("gpt-4o-mini"));
        assert!(c.output_messages.is_empty());
    }

    // ---- legacy completions ----

    #[test]
    fn openai_legacy_completions() {
        let c = parse(
            ApiKind::OpenAiCompletions,
            "openai_completions/request.json",
            "openai_completions/response.json",
            false,
        );
        assert_eq!(c.operation, Operation::TextCompletion);
        assert_eq!(c.request_model.as_deref(), Some("gpt-3.5-turbo-instruct"));
        assert_eq!(
            c.input_messages,
            vec![Message::text(
                "user",
                "Write a tagline for an ice cream shop."
            )]
        );
        assert_eq!(c.params.stop_sequences, strs(&["\n"]));
        assert_eq!(c.params.max_tokens, Some(16));
        assert_eq!(
            text_of(&c.output_messages[0]),
            "\n\nScoops of happiness, one cone at a time."
        );
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("length")
        );
        assert_eq!(c.usage.input_tokens, Some(9));
        assert_eq!(c.usage.output_tokens, Some(16));

        let s = parse(
            ApiKind::OpenAiCompletions,
            "openai_completions/request.json",
            "openai_completions/stream.sse",
            true,
        );
        assert_eq!(text_of(&s.output_messages[0]), "Scoops of happiness.");
        assert_eq!(s.finish_reasons, strs(&["stop"]));
        assert_eq!(
            s.response_id.as_deref(),
            Some("cmpl-7iA7iJjj8V2zOkCGvWF2hAkDWBQZe")
        );
    }

    // ---- Responses API ----

    fn expected_responses_output() -> Vec<Part> {
        vec![
            Part::Reasoning {
                content: "**Calling forecast for Bergen**".into(),
            },
            Part::text("Let me check Bergen."),
            tool_call(
                "call_Bergen1",
                "get_forecast",
                r#"{"city":"Bergen","days":1}"#,
            ),
        ]
    }

    #[test]
    fn openai_responses_request_and_response() {
        let c = parse(
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/response.json",
            false,
        );
        assert_eq!(c.operation, Operation::Chat);
        assert_eq!(c.request_model.as_deref(), Some("gpt-5-mini"));
        assert_eq!(c.response_model.as_deref(), Some("gpt-5-mini-2025-08-07"));
        assert_eq!(c.response_id.as_deref(), Some("resp_68b0a1b2c3"));
        assert_eq!(
            c.system_instructions[..],
            vec![Part::text("You are a helpful assistant for a weather app.")]
        );
        assert_eq!(c.params.max_tokens, Some(2048));
        assert_eq!(c.params.temperature, Some(1.0));
        assert_eq!(c.params.stream, Some(false));
        assert_eq!(c.params.output_type.as_deref(), Some("text"));

        let m = &c.input_messages;
        assert_eq!(m.len(), 4, "{m:#?}");
        assert_eq!(&*m[0].role, "user");
        assert!(
            matches!(&m[0].parts[1], Part::Blob { modality, mime_type: Some(mt), .. }
            if &**modality == "image" && &**mt == "image/png")
        );
        assert_eq!(&*m[1].role, "assistant");
        assert!(matches!(&m[1].parts[0], Part::Reasoning { .. }));
        assert_eq!(
            m[1].parts[1],
            tool_call("call_Oslo1", "get_forecast", r#"{"city":"Oslo","days":1}"#)
        );
        assert_eq!(
            m[2].parts[..],
            vec![Part::ToolCallResponse {
                id: Some("call_Oslo1".into()),
                response: r#"{"rain_probability":0.8}"#.into(),
            }]
        );
        assert_eq!(m[3], Message::text("user", "Thanks. And Bergen?"));
        assert_eq!(c.tool_definitions.len(), 2);
        assert_eq!(&*c.tool_definitions[0].name, "get_forecast");
        assert_eq!(&*c.tool_definitions[1].tool_type, "web_search_preview");

        assert_eq!(c.output_messages.len(), 1);
        assert_eq!(c.output_messages[0].parts[..], expected_responses_output());
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("tool_call")
        );
        assert_eq!(c.finish_reasons, strs(&["completed"]));
        assert_eq!(c.usage.input_tokens, Some(1320));
        assert_eq!(c.usage.cache_read_input_tokens, Some(1152));
        assert_eq!(c.usage.output_tokens, Some(148));
        assert_eq!(c.usage.reasoning_tokens, Some(128));
    }

    #[test]
    fn openai_responses_compaction_outputs_only_its_compaction_item() {
        let c = parse(
            ApiKind::OpenAiResponses,
            "openai_responses/compact_request.json",
            "openai_responses/compact_response.json",
            false,
        );
        assert_eq!(c.request_model.as_deref(), Some("gpt-5.4"));
        assert_eq!(c.response_model, None);
        assert_eq!(c.input_messages.len(), 3);
        // The user messages it echoes are input; the output is the compaction.
        assert_eq!(c.output_messages.len(), 1);
        assert_eq!(&*c.output_messages[0].role, "assistant");
        assert!(
            matches!(&c.output_messages[0].parts[..], [Part::Other { part_type, json }]
            if &**part_type == "compaction" && json.contains("gAAAAABpZ3Vlc3M")),
            "{:#?}",
            c.output_messages
        );
        assert_eq!(c.usage.input_tokens, Some(5120));
        assert_eq!(c.usage.cache_read_input_tokens, Some(4096));
        assert_eq!(c.usage.output_tokens, Some(512));
        assert_eq!(c.usage.reasoning_tokens, Some(256));
    }

    #[test]
    fn server_tools_stream_like_they_answer_and_every_openai_builtin_maps() {
        let json = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/server_tools.response.json",
            false,
        );
        let streamed = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/server_tools.sse",
            true,
        );
        assert_eq!(json.output_messages, streamed.output_messages);
        assert_eq!(json.usage, streamed.usage);
        assert_eq!(json.usage.web_search_calls, Some(1));
        let kinds = |c: &LlmCall| -> Vec<String> {
            c.output_messages[0]
                .parts
                .iter()
                .map(|p| match p {
                    Part::ServerToolCall { name, .. } => format!("call {name}"),
                    Part::ServerToolCallResponse { tool_type, .. } => format!("result {tool_type}"),
                    Part::Text { .. } => "text".into(),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(
            kinds(&json),
            [
                "call web_search",
                "result web_search",
                "call get_issue",
                "result mcp",
                "text"
            ]
        );
        let openai = parse(
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/server_tools.response.json",
            false,
        );
        assert_eq!(
            kinds(&openai),
            [
                "call web_search",
                "result web_search",
                "call file_search",
                "result file_search",
                "call code_interpreter",
                "result code_interpreter",
                "call image_generation",
                "result image_generation",
                "call get_issue",
                "result mcp",
                "text"
            ]
        );
    }

    #[test]
    fn openai_responses_stream_prefers_the_completed_event() {
        let c = parse(
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/stream.sse",
            true,
        );
        let full = parse(
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/response.json",
            false,
        );
        assert_eq!(c.output_messages, full.output_messages);
        assert_eq!(c.usage, full.usage);
        assert_eq!(c.response_id, full.response_id);
        assert_eq!(c.finish_reasons, full.finish_reasons);
        // The request said stream=false; the recorded value is the request's.
        assert_eq!(c.params.stream, Some(false));
    }

    #[test]
    fn openai_responses_cut_stream_falls_back_to_deltas() {
        let body = String::from_utf8(fixture("openai_responses/stream.sse")).unwrap();
        let mut kept = String::new();
        for block in body.split_inclusive("\n\n") {
            // Drop every `done` event and the terminal one: only deltas.
            if block.contains(".done") || block.contains("response.completed") {
                continue;
            }
            kept.push_str(block);
        }
        let c = parse_exchange(&exchange(
            ApiKind::OpenAiResponses,
            &fixture("openai_responses/request.json"),
            kept.as_bytes(),
            true,
        ));
        assert_eq!(c.response_id.as_deref(), Some("resp_68b0a1b2c3"));
        assert_eq!(c.response_model.as_deref(), Some("gpt-5-mini-2025-08-07"));
        assert_eq!(c.output_messages[0].parts[..], expected_responses_output());
        assert!(c.usage.is_empty());
        assert!(c.finish_reasons.is_empty());
    }

    // ---- embeddings ----

    #[test]
    fn openai_embeddings() {
        let c = parse(
            ApiKind::OpenAiEmbeddings,
            "openai_embeddings/request.json",
            "openai_embeddings/response.json",
            false,
        );
        assert_eq!(c.operation, Operation::Embeddings);
        assert_eq!(c.request_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(c.response_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(c.embedding_dimensions, Some(8));
        assert_eq!(c.params.encoding_formats, strs(&["float"]));
        assert_eq!(c.usage.input_tokens, Some(16));
        assert_eq!(c.usage.output_tokens, None);
        assert!(c.input_messages.is_empty() && c.output_messages.is_empty());
    }

    // ---- Anthropic ----

    fn expected_anthropic_output() -> Vec<Part> {
        vec![
            Part::Reasoning {
                content: "I need Germany's GDP to compare.".into(),
            },
            Part::text("France's GDP was 3.16 trillion USD. Let me fetch Germany's."),
            tool_call(
                "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "get_gdp",
                r#"{"country":"DE","year":2024}"#,
            ),
        ]
    }

    #[test]
    fn anthropic_request_and_response() {
        let c = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/response.json",
            false,
        );
        assert_eq!(&*c.provider, "anthropic");
        assert_eq!(c.request_model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(
            c.response_model.as_deref(),
            Some("claude-sonnet-4-5-20250929")
        );
        assert_eq!(
            c.response_id.as_deref(),
            Some("msg_01XFDUDYJgAACzvnptvVoYEL")
        );
        assert_eq!(
            c.system_instructions[..],
            vec![
                Part::text("You are a meticulous research assistant."),
                Part::text("Always cite the tool you used."),
            ]
        );
        let p = &c.params;
        assert_eq!(p.max_tokens, Some(4096));
        assert_eq!(p.temperature, Some(1.0));
        assert_eq!(p.top_p, Some(0.99));
        assert_eq!(p.top_k, Some(40.0));
        assert_eq!(p.stop_sequences, strs(&["</answer>"]));

        let m = &c.input_messages;
        assert_eq!(m.len(), 4);
        assert!(
            matches!(&m[0].parts[1], Part::Blob { mime_type: Some(mt), .. } if &**mt == "image/png")
        );
        assert_eq!(
            m[1].parts[..],
            vec![
                Part::Reasoning {
                    content: "The chart shows rising exports; I need the GDP tool.".into()
                },
                Part::text("I'll look that up."),
                tool_call(
                    "toolu_01A09q90qw90lq917835lq9",
                    "get_gdp",
                    r#"{"country":"FR","year":2024}"#
                ),
            ]
        );
        assert_eq!(
            m[2].parts[..],
            vec![Part::ToolCallResponse {
                id: Some("toolu_01A09q90qw90lq917835lq9".into()),
                response: "3.16 trillion USD".into(),
            }]
        );
        assert_eq!(m[3], Message::text("user", "Now compare it with Germany."));
        assert_eq!(c.tool_definitions.len(), 2);
        assert_eq!(&*c.tool_definitions[0].tool_type, "function");
        assert!(
            c.tool_definitions[0]
                .parameters
                .as_deref()
                .unwrap()
                .contains("ISO 3166")
        );
        assert_eq!(&*c.tool_definitions[1].tool_type, "web_search_20250305");
        assert_eq!(&*c.tool_definitions[1].name, "web_search");

        assert_eq!(c.output_messages[0].parts[..], expected_anthropic_output());
        assert_eq!(
            c.output_messages[0].finish_reason.as_deref(),
            Some("tool_call")
        );
        assert_eq!(c.finish_reasons, strs(&["tool_use"]));
        // 1000 uncached + 20000 cache read + 5000 cache write.
        assert_eq!(c.usage.input_tokens, Some(26_000));
        assert_eq!(c.usage.cache_read_input_tokens, Some(20_000));
        assert_eq!(c.usage.cache_write_input_tokens, Some(5_000));
        assert_eq!(c.usage.output_tokens, Some(187));
    }

    #[test]
    fn anthropic_stream_matches_the_non_streamed_response() {
        let s = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/stream.sse",
            true,
        );
        let full = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/response.json",
            false,
        );
        assert_eq!(s.output_messages, full.output_messages);
        assert_eq!(s.finish_reasons, full.finish_reasons);
        // Cache counts come from message_start, output from message_delta.
        assert_eq!(s.usage, full.usage);
        assert_eq!(s.response_id.as_deref(), Some("msg_01StreamAbc"));
        assert_eq!(s.params.stream, Some(true));
    }

    #[test]
    fn anthropic_errors_in_body_and_in_stream() {
        let mut ex = exchange(
            ApiKind::AnthropicMessages,
            &fixture("anthropic/request.json"),
            &fixture("anthropic/error_529.json"),
            false,
        );
        ex.status = Some(529);
        let err = parse_exchange(&ex).error.unwrap();
        assert_eq!(&*err.error_type, "overloaded_error");
        assert_eq!(err.message.as_deref(), Some("Overloaded"));

        let c = parse(
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/stream_error.sse",
            true,
        );
        let err = c.error.as_ref().unwrap();
        assert_eq!(&*err.error_type, "overloaded_error");
        assert_eq!(text_of(&c.output_messages[0]), "Once upon");
        assert_eq!(c.usage.input_tokens, Some(25));
    }

    // ---- robustness ----

    const ALL: &[(ApiKind, &str, &str, bool)] = &[
        (
            ApiKind::OpenAiChatCompletions,
            "openai_chat/basic.request.json",
            "openai_chat/basic.response.json",
            false,
        ),
        (
            ApiKind::OpenAiChatCompletions,
            "openai_chat/tools.request.json",
            "openai_chat/tools.response.json",
            false,
        ),
        (
            ApiKind::OpenAiChatCompletions,
            "openai_chat/stream.request.json",
            "openai_chat/stream.sse",
            true,
        ),
        (
            ApiKind::OpenAiChatCompletions,
            "openai_chat/tools.request.json",
            "openai_chat/stream_tools.sse",
            true,
        ),
        (
            ApiKind::OpenAiChatCompletions,
            "openai_chat/basic.request.json",
            "openai_chat/error_429.json",
            false,
        ),
        (
            ApiKind::OpenAiCompletions,
            "openai_completions/request.json",
            "openai_completions/response.json",
            false,
        ),
        (
            ApiKind::OpenAiCompletions,
            "openai_completions/request.json",
            "openai_completions/stream.sse",
            true,
        ),
        (
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/response.json",
            false,
        ),
        (
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/stream.sse",
            true,
        ),
        (
            ApiKind::OpenAiResponses,
            "openai_responses/request.json",
            "openai_responses/server_tools.response.json",
            false,
        ),
        (
            ApiKind::OpenAiResponses,
            "openai_responses/compact_request.json",
            "openai_responses/compact_response.json",
            false,
        ),
        (
            ApiKind::OpenAiEmbeddings,
            "openai_embeddings/request.json",
            "openai_embeddings/response.json",
            false,
        ),
        (
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/server_tools.response.json",
            false,
        ),
        (
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/server_tools.sse",
            true,
        ),
        (
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/response.json",
            false,
        ),
        (
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/stream.sse",
            true,
        ),
        (
            ApiKind::AnthropicMessages,
            "anthropic/request.json",
            "anthropic/stream_error.sse",
            true,
        ),
    ];

    #[test]
    fn every_prefix_of_every_fixture_parses_without_panic() {
        let mut seen_requests = Vec::new();
        for &(api, req_name, resp_name, streaming) in ALL {
            let (req, resp) = (fixture(req_name), fixture(resp_name));
            let whole = parse_exchange(&exchange(api, &req, &resp, streaming));
            if !seen_requests.contains(&req_name) {
                seen_requests.push(req_name);
                for n in 0..req.len() {
                    let c = parse_exchange(&exchange(api, &req[..n], b"", streaming));
                    // A cut request never invents a model or messages.
                    if let Some(m) = &c.request_model {
                        assert_eq!(Some(m), whole.request_model.as_ref());
                    }
                    assert!(c.input_messages.len() <= whole.input_messages.len());
                }
            }
            for n in 0..resp.len() {
                let c = parse_exchange(&exchange(api, b"{}", &resp[..n], streaming));
                assert!(c.output_messages.len() <= whole.output_messages.len().max(1));
            }
        }
    }

    #[test]
    fn garbage_and_wrong_shapes_yield_a_call() {
        let bodies: &[&[u8]] = &[
            b"",
            b"null",
            b"[]",
            b"\"text\"",
            b"{\"model\": 5, \"messages\": \"hi\", \"tools\": {}, \"temperature\": \"hot\"}",
            b"{\"messages\": [1, null, {\"role\": 7, \"content\": {\"x\": 1}}]}",
            b"{\"choices\": [{\"message\": 1}, {\"delta\": []}], \"usage\": []}",
            b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":99999999999}]}}]}\n\n",
            b"event: content_block_delta\ndata: {\"index\":3,\"delta\":{\"type\":\"text_delta\"}}\n\n",
            &[0xff, 0xfe, 0x00, b'{'],
        ];
        for api in [
            ApiKind::OpenAiChatCompletions,
            ApiKind::OpenAiCompletions,
            ApiKind::OpenAiResponses,
            ApiKind::OpenAiEmbeddings,
            ApiKind::AnthropicMessages,
        ] {
            for req in bodies {
                for resp in bodies {
                    for streaming in [false, true] {
                        let c = parse_exchange(&exchange(api, req, resp, streaming));
                        assert_eq!(c.error, None);
                    }
                }
            }
        }
    }

    #[test]
    fn long_stream_of_two_thousand_chunks_reassembles_exactly() {
        let mut body = String::new();
        let mut expected_text = String::new();
        let mut expected_args = String::from("{\"items\":[");
        body.push_str("data: {\"id\":\"chatcmpl-long\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_long\",\"type\":\"function\",\"function\":{\"name\":\"collect\",\"arguments\":\"{\\\"items\\\":[\"}}]}}]}\n\n");
        for i in 0..2000 {
            let word = format!("w{i} ");
            expected_text.push_str(&word);
            body.push_str(&format!(
                "data: {{\"id\":\"chatcmpl-long\",\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{word}\"}}}}]}}\n\n"
            ));
            let piece = if i == 0 {
                format!("{i}")
            } else {
                format!(",{i}")
            };
            expected_args.push_str(&piece);
            body.push_str(&format!(
                "data: {{\"id\":\"chatcmpl-long\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{piece}\"}}}}]}}}}]}}\n\n"
            ));
        }
        expected_args.push_str("]}");
        body.push_str("data: {\"id\":\"chatcmpl-long\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"]}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n");
        body.push_str("data: {\"id\":\"chatcmpl-long\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4000,\"total_tokens\":4010}}\n\ndata: [DONE]\n\n");

        let c = parse_exchange(&exchange(
            ApiKind::OpenAiChatCompletions,
            br#"{"model":"gpt-4o","stream":true}"#,
            body.as_bytes(),
            true,
        ));
        let out = &c.output_messages[0];
        assert_eq!(text_of(out), expected_text);
        assert_eq!(
            out.parts[1],
            tool_call("call_long", "collect", &expected_args)
        );
        let args: serde_json::Value = serde_json::from_str(&expected_args).unwrap();
        assert_eq!(args["items"].as_array().unwrap().len(), 2000);
        assert_eq!(c.usage.output_tokens, Some(4000));
    }
}
