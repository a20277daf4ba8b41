/* action_spec.c - which actions exist and which `with:` parameters they take */
#include "common/action_spec.h"

#include <string.h>

static const param_spec webhook_params[] = {
    {"url", P_URL, true, false},
    {"method", P_STRING, false, false},
    {"headers", P_MAP, false, false},
    {"body", P_ANY, false, false},
    {"bearer", P_STRING, false, false},
    {"username", P_STRING, false, false},
    {"password", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec exec_params[] = {
    {"command", P_STRINGS, true, true},
    {"env", P_MAP, false, false},
    {"stdin", P_ANY, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec noop_params[] = {
    {"echo", P_ANY, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec manual_params[] = {
    {"instructions", P_STRING, false, false},
    {"assignee", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec http_check_params[] = {
    {"url", P_URL, true, false},
    {"method", P_STRING, false, false},
    {"headers", P_MAP, false, false},
    {"expect_status", P_ANY, false, false},
    {"expect_body", P_STRING, false, false},
    {"max_latency", P_DURATION, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec tcp_check_params[] = {
    {"host", P_STRING, true, true},
    {"port", P_ANY, true, true},
    {NULL, P_ANY, false, false},
};

static const param_spec jira_params[] = {
    {"base_url", P_URL, true, false},
    {"email", P_STRING, true, false},
    {"api_token", P_STRING, true, false},
    {"op", P_STRING, false, false},
    {"project", P_STRING, false, false},
    {"issue_type", P_STRING, false, false},
    {"summary", P_STRING, false, false},
    {"description", P_STRING, false, false},
    {"labels", P_STRINGS, false, false},
    {"priority", P_STRING, false, false},
    {"fields", P_ANY, false, false},
    {"issue", P_STRING, false, false},
    {"comment", P_STRING, false, false},
    {"transition", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec servicenow_params[] = {
    {"instance_url", P_URL, true, false},
    {"username", P_STRING, true, false},
    {"password", P_STRING, true, false},
    {"op", P_STRING, false, false},
    {"table", P_STRING, false, false},
    {"short_description", P_STRING, false, false},
    {"description", P_STRING, false, false},
    {"urgency", P_STRING, false, false},
    {"impact", P_STRING, false, false},
    {"fields", P_ANY, false, false},
    {"sys_id", P_STRING, false, false},
    {"work_notes", P_STRING, false, false},
    {"close_code", P_STRING, false, false},
    {"close_notes", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec github_params[] = {
    {"repo", P_STRING, true, false},
    {"token", P_STRING, true, false},
    {"api_url", P_URL, false, false},
    {"op", P_STRING, false, false},
    {"title", P_STRING, false, false},
    {"body", P_STRING, false, false},
    {"labels", P_STRINGS, false, false},
    {"issue", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec slack_params[] = {
    {"token", P_STRING, false, false},
    {"channel", P_STRING, false, false},
    {"webhook_url", P_URL, false, false},
    {"text", P_STRING, true, false},
    {"blocks", P_ANY, false, false},
    {"thread", P_BOOL, false, false},
    {"buttons", P_BOOL, false, false},
    {"api_url", P_URL, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec teams_params[] = {
    {"webhook_url", P_URL, true, false},
    {"title", P_STRING, false, false},
    {"text", P_STRING, false, false},
    {"facts", P_MAP, false, false},
    {"card", P_ANY, false, false},
    {"ack_link", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec twilio_params[] = {
    {"account_sid", P_STRING, true, false},
    {"auth_token", P_STRING, true, false},
    {"to", P_STRING, true, false},
    {"from", P_STRING, false, false},
    {"messaging_service_sid", P_STRING, false, false},
    {"body", P_STRING, true, false},
    {"api_url", P_URL, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec twilio_call_params[] = {
    {"account_sid", P_STRING, true, false},
    {"auth_token", P_STRING, true, false},
    {"to", P_STRING, true, false},
    {"from", P_STRING, true, false},
    {"message", P_STRING, true, false},
    {"voice", P_STRING, false, false},
    {"api_url", P_URL, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec email_params[] = {
    {"url", P_URL, true, false},
    {"from", P_STRING, true, false},
    {"to", P_STRINGS, true, false},
    {"cc", P_STRINGS, false, false},
    {"subject", P_STRING, true, false},
    {"body", P_STRING, true, false},
    {"username", P_STRING, false, false},
    {"password", P_STRING, false, false},
    {"starttls", P_BOOL, false, false},
    {"ack_link", P_STRING, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec pagerduty_params[] = {
    {"routing_key", P_STRING, true, false},
    {"event_action", P_STRING, false, false},
    {"dedup_key", P_STRING, false, false},
    {"summary", P_STRING, false, false},
    {"source", P_STRING, false, false},
    {"severity", P_STRING, false, false},
    {"component", P_STRING, false, false},
    {"group", P_STRING, false, false},
    {"class", P_STRING, false, false},
    {"custom_details", P_ANY, false, false},
    {"client", P_STRING, false, false},
    {"client_url", P_STRING, false, false},
    {"links", P_ANY, false, false},
    {"url", P_URL, false, false},
    {NULL, P_ANY, false, false},
};

static const param_spec page_params[] = {
    {"policy", P_STRING, false, false},
    {"targets", P_ANY, false, false},
    {"message", P_STRING, true, false},
    {"severity", P_STRING, false, false},
    {"channels", P_ANY, false, false},
    {"delay", P_DURATION, false, false},
    {NULL, P_ANY, false, false},
};

static const action_spec specs[] = {
    {"webhook", webhook_params, "HTTP request with a templated JSON body"},
    {"exec", exec_params, "run a program from exec.dirs with an argv array, alert data in the environment"},
    {"noop", noop_params, "succeed at once; output is the step's with (for tests and benchmarks)"},
    {"manual", manual_params, "a task for a person; done with `muster done INCIDENT STEP`"},
    {"http_check", http_check_params, "probe a URL: status, latency and body against expectations"},
    {"tcp_check", tcp_check_params, "probe a TCP port: whether it connects, and how fast"},
    {"jira", jira_params, "Jira Cloud: create an issue once per incident, comment, transition"},
    {"servicenow", servicenow_params, "ServiceNow: create, update and resolve an incident record"},
    {"github", github_params, "GitHub Issues: create once per incident, comment, close"},
    {"slack", slack_params, "Slack message (chat.postMessage or incoming webhook), threaded per incident"},
    {"teams", teams_params, "Microsoft Teams message with an Adaptive Card through a webhook"},
    {"twilio", twilio_params, "SMS through Twilio's Messages API"},
    {"twilio_call", twilio_call_params,
     "phone call through Twilio's Calls API: reads the message, press 1 to acknowledge"},
    {"email", email_params, "email over SMTP or SMTPS"},
    {"pagerduty", pagerduty_params, "PagerDuty Events v2: trigger, acknowledge, resolve"},
    {"page", page_params, "page people by an escalation policy (or targets) until one acknowledges"},
    {NULL, NULL, NULL},
};

const action_spec *action_spec_find(const char *name) {
    for (const action_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

const action_spec *action_specs(void) { return specs; }

const char *param_type_name(param_type t) {
    switch (t) {
    case P_STRING: return "a string";
    case P_URL: return "a string (a URL)";
    case P_STRINGS: return "a list of strings";
    case P_MAP: return "a map of strings";
    case P_INT: return "a whole number";
    case P_BOOL: return "true or false";
    case P_DURATION: return "a duration";
    default: return "any value";
    }
}
