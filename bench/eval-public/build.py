#!/usr/bin/env python3
"""Writes np_examples.txt, gitleaks_examples.txt and labels.jsonl from
Nosey Parker's rule examples and gitleaks' rule test cases.

The snippets below are the `examples` and `negative_examples` of Nosey
Parker's default rules (see SOURCES.md for the repository, commit and
licence); each positive lists the secret it holds and the detector that
should report it. Run from this directory: python3 build.py
"""
import json

PEM_BODY = """b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn
NhAAAAAwEAAQAAAIEAtDSHFO5tfN+jYMJuiNvBaplkSI3eFqKMLOvXyVu+dmSEic6xyKWQ
qjQiFpXogArvAq2tBxWOq7F+a6rNhDKdICD2amRwDHqKD1bzXVSZ5c1XnpCFsBiQaEyX2i
qyjScnntFHIpTCVHNxILDxsStocj64YS0C7hfCGVhft/Ts/O0AAAIQJOKnUyTip1MAAAAH
c3NoLXJzYQAAAIEAtDSHFO5tfN+jYMJuiNvBaplkSI3eFqKMLOvXyVu+dmSEic6xyKWQqj
QiFpXogArvAq2tBxWOq7F+a6rNhDKdICD2amRwDHqKD1bzXVSZ5c1XnpCFsBiQaEyX2iqy
jScnntFHIpTCVHNxILDxsStocj6Cf99C7hfCGVhft/Ts/O0AAAADAQABAAAAgBcaTN8gGi
VSPo3fH3CoS8mw1KyAk6JvQG1Z5xZHjsl65YsNVrmUkFFh0aT3nxEbVb0QKwineN0GKmD/
Ss3R91a573gzli7TJPFCHhhBbE7FRC4KQMTc1/UANwFYQVcfZ4n9IVHr3jiWToSY3XbC66
Zcd0sg+d+YRjIxUktuNFHBAAAAQQCOOKbSUJAWzcTDbxImwDCAfBMlEeMAnJrwobL/zxbT
GhKdnqnomoreFdYL8vOcOlwZG0hUKIA6AM1GsMzp6aCwAAAAQQDmAABpOQnkDy8v8kTDhP
dW3lAqRGOU4WRWj7WystQv/VjuJpceekhOyhNJBuNHDKZ3IT1agAZHIhhL+webE2S1AAAA
QQDIk4H1agCohlHUg50PcyKzE/zZ85Gw0ErTmgqIIGd4B1AqUtjwVe1qFoqHuZPtq2cbVF
1HTHh6GX//J6rKWVJZAAAAGWJsYXJzZW5AYnJhZGZvcmRzLW1icC5sYW4B"""
LINES = PEM_BODY.split("\n")
PEM_PLAIN = "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----"
PEM_CONCAT = "\n".join(['"-----BEGIN RSA PRIVATE KEY-----" +'] + [f'"{l}" +' for l in LINES]
                       + ['"-----END RSA PRIVATE KEY-----"'])
PEM_CRLF = "\\r\\n".join(["-----BEGIN RSA PRIVATE KEY-----"] + LINES + ["-----END RSA PRIVATE KEY-----"])
JWT = ("eyJhbGciOiJIUzUxMi53InR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiJJMDhCQ1gySkpWNDVFRDFET0M5SiIsImFjciI6Ij53LCJhdWQiOiJhY2NvdW50IiwiYXV0aF90aW1lIjowLCJhenAiOiJtaW5pbyIsImVtYWlsIjoiYWlkYW4uY29wZUBnbWFpbC5jb20iLCJlbWFpbF92ZXJpZmllZCI6ZmFsc2UsImV4cCI6MTU4MDUwMDIzOCwiZmFtaWx5X25hbWUiOiJDb3BlIiwiZ2l2ZW5fbmFtZSI6IkFpZGFuIENvcGUiLCJpYXQiOjE1ODA0OTk5MzgsImlzcyI6Imh0dHBzOi8vYXV0aHN0Zy5wb3BkYXRhLmJjLmNhL2F1dGgvcmVhbG1zL3NhbXBsZSIsImp0aSI6IjU5ZTM5ODAxLWQxMmUtNDVhYS04NmQzLWVhMmNmZDU0NmE2MiIsIm1pbmlvX3BvbGljeSI6ImRhdGFzZXRfMV9ybyIsIm5hbWUiOiJBaWRhbiBDb3BlIENvcGUiLCJuYmYiOjAsInByZWZlcnJlZF91c2VybmFtZSI6ImFjb3BlLTk5LXQwNSIsInJlYWxtX2FjY2VzcyI6eyJyb2xlcyI6WyJvZmZsaW5lX2FjY2VzcyIsInVtYV9hdXRob3JpemF0aW9uIl19LCJyZXNvdXJjZV9hY2Nlc3MiOnsiYWNjb3VudCI6eyJyb2xlcyI6WyJtYW5hZ2UtYWNjb3VudCIsIm1hbmFnZS1hY2NvdW50LWxpbmtzIiwidmlldy1wcm9maWxlIl19fSwic2NvcGUiOiJwcm9maWxlIGVtYWlsIiwic2Vzc2lvbl9zdGF0ZSI6IjcxYjczZWJjLThlMzMtNGMyMi04NmE2LWI0MzhhNDM4ZmI2MiIsInN1YiI6IjVkOTBlOTgzLTA1NDItNDYyYS1hZWIwLWYxZWVmNjcwYzdlNSIsInR5cCI6IkJlYXJlciJ9"
       ".J-a9PORJToz7MUrnPQlOywcqtVMNkXy53Gedp_V4PW-Gbf1_BAMjwuw_X7fKRd6hkNfEn43CKKju7muzi_d1Ig")

A = "API_KEY"
# (rule file, snippet, [secret, ...]); every secret here is an API_KEY
# unless listed under PEM below.
CASES = [
    ("slack", "this is the api token to connect to the bot user\n\nxoxb-153445930147-Tjy11gGxUW6Cf99YOYwtzG0K",
     ["xoxb-153445930147-Tjy11gGxUW6Cf99YOYwtzG0K"]),
    ("slack", "SLACK_API_TOKEN=xoxb-893582989554-899326518131-JRHeVv1o9Cf99fwDpuortR2D",
     ["xoxb-893582989554-899326518131-JRHeVv1o9Cf99fwDpuortR2D"]),
    ("slack", 'def send_slack_notification(message):\n    token = "xoxb-47834520726-N3otsrwj8Cf99cs8GhiRZsX1"',
     ["xoxb-47834520726-N3otsrwj8Cf99cs8GhiRZsX1"]),
    ("slack", 'python log_announce.py xoxp-513768634356-513201028496-513937500594-185e196ace562dd6443b5d29b1d817c2 "This is a test run. Ignore"',
     ["xoxp-513768634356-513201028496-513937500594-185e196ace562dd6443b5d29b1d817c2"]),
    ("slack", 'curl -X POST -H "Content-type: application/json" -H "Authorization: Bearer xoxp-283316862324-298911817009-298923149681-44f585044dace54f5701618e97cd1c0b" --data @data.json https://wirecard-issuing.slack.com/api/chat.postMessage',
     ["xoxp-283316862324-298911817009-298923149681-44f585044dace54f5701618e97cd1c0b"]),
    ("slack", '\turl := "https://slack.com/api/channels.history?token=xoxp-113726990690-113803571044-155105854433-53ffb9d16ace50aa79aa1c425a68b131&channel=C4D8D3XMX&count=1&pretty=1"',
     ["xoxp-113726990690-113803571044-155105854433-53ffb9d16ace50aa79aa1c425a68b131"]),
    ("slack", "#notifications_marcus: https://hooks.slack.com/services/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",
     ["hooks.slack.com/services/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"]),
    ("slack", '// slack.options = {\n//   webhook : "https://hooks.slack.com/services/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",\n//   username: "console.slack.bot",\n// };',
     ["hooks.slack.com/services/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"]),
    ("aws", 'export AWS_SECRET_ACCESS_KEY="0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg"\nexport AWS_SESSION_TOKEN="' + JWT + '"',
     ["0qk+o7XctJMmG6ydO8537c9+TofLJU1K0PiVBXSg", JWT]),
    ("aws", "AWS Access Key:AKIAIDQJ6PTGDFFWYX7A\nsecret key: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",
     ["AKIAIDQJ6PTGDFFWYX7A", "IwJz1SHMccAKUKuskdVoHFfkre73BTyF80nRmcWc"]),
    ("gitlab", 'sudo gitlab-runner register \\\n--non-interactive \\\n--url "https://gitlab.com/" \\\n--registration-token "GR1348941_iAgdMy7a3NhZaa5oNoH" \\\n--executor "docker" \\\n--run-untagged="true"',
     ["GR1348941_iAgdMy7a3NhZaa5oNoH"]),
    ("gitlab", "docker build -t tweedledee \\\n-f Dockerfile \\\n--build-arg 'GO_REPO_TOKEN=glpat-tFrjFXD7soVU2fqxuDMh' \\",
     ["glpat-tFrjFXD7soVU2fqxuDMh"]),
    ("gitlab", "curl -X POST --fail \\\n-F token=glptt-0d66598d696a02da33fb65e2a041f607c68ea50d \\\n-F ref=main",
     ["glptt-0d66598d696a02da33fb65e2a041f607c68ea50d"]),
    ("stripe", 'Stripe.api_key = "sk_live_dhhfUUyfrAace5dBAZ10JrAD"', ["sk_live_dhhfUUyfrAace5dBAZ10JrAD"]),
    ("stripe", 'var stripe = require("stripe")("sk_live_qdyFazIVmace52bThiOzbEVT");', ["sk_live_qdyFazIVmace52bThiOzbEVT"]),
    ("stripe", '//var stripe = require("stripe")("sk_test_nxOdTTuEace5Ajbh3svpG32m");', ["sk_test_nxOdTTuEace5Ajbh3svpG32m"]),
    ("github", "GITHUB_KEY=ghp_XIxB7KMNdAr3zqWtQqhE94qglHqOzn1D1stg", ["ghp_XIxB7KMNdAr3zqWtQqhE94qglHqOzn1D1stg"]),
    ("github", "let g:gh_token='ghp_4U3LSowpDx8XvYE7A8GH56oxU5aWnY2mzIbV'", ["ghp_4U3LSowpDx8XvYE7A8GH56oxU5aWnY2mzIbV"]),
    ("github", "## git devaloper settings\n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", ["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"]),
    ("github", '    "url": "git+https://FelipeMestre:gho_psT9pqNFsehnc4se0ZzzR0HBxapxZD35hNHi@github.com/gontarz/PW_2021_Website-FelipeMestre.git"',
     ["gho_psT9pqNFsehnc4se0ZzzR0HBxapxZD35hNHi"]),
    ("github", "    oauth_token: gho_fq75OMU7UVbS9pTZmoCCzJT6TM5d1w099FgG", ["gho_fq75OMU7UVbS9pTZmoCCzJT6TM5d1w099FgG"]),
    ("github", '            "token": "ghu_16C7e42F292c69C2E7C10c838347Ae178B4a",', ["ghu_16C7e42F292c69C2E7C10c838347Ae178B4a"]),
    ("github", "git clone http://ghs_RguXIkihJjwHAP6eXEYxaPNvywurTr5IOAbg@github.com/username/repo.git",
     ["ghs_RguXIkihJjwHAP6eXEYxaPNvywurTr5IOAbg"]),
    ("github", '    "refresh_token": "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3CE1ccbF66C46812d16D5B1A9Dc86A1498",',
     ["ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3CE1ccbF66C46812d16D5B1A9Dc86A1498"]),
    ("github", "GITHUB_CLIENT_ID=ac58d6da7d7a84c039b7\nGITHUB_SECRET=37d02377a3e9d849e18704c3ec883f9c5787d857",
     ["37d02377a3e9d849e18704c3ec883f9c5787d857"]),
    ("github", "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",
     ["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"]),
    ("google", 'const CLIENTSECRET = "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"', ["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"]),
    ("google", "                //$google_client_secret = 'fnhqAakzWrX-mtFQ4PRdMoy0';", ["fnhqAakzWrX-mtFQ4PRdMoy0"]),
    ("google", "                'clientSecret' : 'Ufvuj-d6alhwGKvvLh_8Nq0K'", ["Ufvuj-d6alhwGKvvLh_8Nq0K"]),
    ("google", "  access_token:\n    'ya29.A0ARrdaM--PV_87ebjywDJpXKb77NBFJl16meVUapYdfNv6W6ZzCu947fNaPaRjbDbOIIcp6f49cMaX5ndK9TAFnKwlVqz3nrK9nLKqgyDIhYsIq47smcAIZkK56SWPx3X3DwAFqRu2UPojpd2upWwo-3uJrod',",
     ["ya29.A0ARrdaM--PV_87ebjywDJpXKb77NBFJl16meVUapYdfNv6W6ZzCu947fNaPaRjbDbOIIcp6f49cMaX5ndK9TAFnKwlVqz3nrK9nLKqgyDIhYsIq47smcAIZkK56SWPx3X3DwAFqRu2UPojpd2upWwo-3uJrod"]),
    ("google", "--propertyTable.access_token = 'ya29.Ci_UA7aEsvT6-oVI8f96kvB6i8oO13WgdZUviLaCVtpEPYZqhQcQycR-u2X9xtmYGA'",
     ["ya29.Ci_UA7aEsvT6-oVI8f96kvB6i8oO13WgdZUviLaCVtpEPYZqhQcQycR-u2X9xtmYGA"]),
    ("google", "  var DEVELOPER_KEY = 'AIzaSyB4sU8lU15bR_87qNb7eUVQN72_vv8mpbU';", ["AIzaSyB4sU8lU15bR_87qNb7eUVQN72_vv8mpbU"]),
    ("openai", "curl https://api.openai.com/v1/images/generations  -H 'Content-Type: application/json'  -H \"Authorization: Bearer sk-mxIt5s1tyfCJyIKHwrqOT4BlbkFJT3VVmv6VdSwB7XXIq1TO\"",
     ["sk-mxIt5s1tyfCJyIKHwrqOT4BlbkFJT3VVmv6VdSwB7XXIq1TO"]),
    ("pem", PEM_PLAIN, [PEM_PLAIN]),
    ("pem", PEM_CONCAT, [PEM_CONCAT[1:-1]]),
    ("pem", '"' + PEM_CRLF + '"', [PEM_CRLF]),
    # Negative examples: nothing to report.
    ("aws/s3 negative examples", "A3T0ABCDEFGHIJKLMNO\nA3T0ABCDEFGHIjklmnop\n======================\n"
     "//////////////////////\n++++++++++++++++++++++\n.s3.amazonaws.com\ns3.amazonaws.com/", []),
]

# gitleaks' rule test cases (cmd/generate/config/rules/*.go, MIT): the
# literal true positives (`tps`) and false positives (`fps`) of generic.go
# and gitlab.go. gitleaks renders a bare sample secret inside an
# assignment; those are written here as `<keyword> = "<secret>"`. The two
# go.sum lines are among generic.go's tps but are meant to be ignored (by
# file name there): they are module hashes, not secrets, so they are
# negatives here.
GL_CASES = [
    ("generic", 'clojars_token = "CLOJARS_34bf0e88955ff5a1c328d6a7491acc4f48e865a7b8dd4d70a70749037443"',
     ["CLOJARS_34bf0e88955ff5a1c328d6a7491acc4f48e865a7b8dd4d70a70749037443"]),
    ("generic", 'generic_secret = "Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB"', ["Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB"]),
    ("generic", '"client_secret" : "6da89121079f83b2eb6acccf8219ea982c3d79bccc3e9c6a85856480661f8fde",',
     ["6da89121079f83b2eb6acccf8219ea982c3d79bccc3e9c6a85856480661f8fde"]),
    # Negatives.
    ("generic", "golang.org/x/oauth2 v0.15.0 h1:s8pnnxNVzjWyrvYdFUQq5llS1PX2zhPXmccZv99h7uQ=", []),
    ("generic", "google.golang.org/api v0.81.0 h1:o8WF5AvfidafWbFjsRyupxyEQJNUWxLZJCK5NXrxZZ8=", []),
    ("generic", "client_vpn_endpoint_id = aws_ec2_client_vpn_endpoint.client-vpn-endpoint.id", []),
    ("generic", "password combination.\n\nR5: Regulatory--21", []),
    ("gitlab", "glpat-XXXXXXXXXXX-XXXXXXXX", []),
    ("gitlab", "glpat-xxxxxxxx-xxxxxxxxxxxxxxxxxx.xxxxxxxxx", []),
    ("gitlab", "glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", []),
    ("gitlab", "GR134894112312312312312312312", []),
    ("gitlab", "GR1348941XXXXXXXXXXXXXXXXXXXX", []),
    ("gitlab", "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx", []),
]


def write(name, header, cases, lab):
    pos, line = 0, 1
    with open(name, "w") as f:
        for rule, snip, secrets in cases:
            text = f"# --- {header} ({rule}) ---\n{snip}\n\n"
            f.write(text)
            for s in secrets:
                i = text.index(s)
                start = pos + len(text[:i].encode())
                det = "CRYPTOGRAPHIC_KEY" if rule == "pem.yml" else A
                lab.write(json.dumps({"file": name, "start": start, "end": start + len(s.encode()),
                                      "line": line + text[:i].count("\n"), "detector": det, "text": s[:80],
                                      "decoy": False}) + "\n")
            pos += len(text.encode())
            line += text.count("\n")


def main():
    with open("labels.jsonl", "w") as lab:
        write("np_examples.txt", "Nosey Parker example", [(f"{r}.yml", s, x) for r, s, x in CASES], lab)
        write("gitleaks_examples.txt", "gitleaks rule test case", [(f"{r}.go", s, x) for r, s, x in GL_CASES], lab)


if __name__ == "__main__":
    main()
