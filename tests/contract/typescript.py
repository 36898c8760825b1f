"""The example TypeScript client still compiles against the contract, and works.

Generates types from openapi/openapi.yaml with openapi-typescript, type-checks
docs/examples/typescript (tsc, strict): a contract change that breaks the sign-in, catalog or
checkout calls there fails here. Then compiles the example and runs it against the live
server (sign in as the admin and create a product; sign a new customer up by phone and code
alone, reading the code from the SMS record; sign another in with Google, its ID token minted
by the Google stand-in at ctx.id_token_url; list and get the product, order it, open
checkout, pay, and wait for `paid`). A development server's fake Razorpay is paid through its dev
route; in production the customer pays at the Razorpay stand-in (ctx.pay_url), which
delivers the signed webhooks.
"""

import os
import subprocess
import tempfile

from run import SuiteFailed, log


def sh(args, cwd, env=None, what=None):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise SuiteFailed(f"{what or ' '.join(args)} failed ({result.returncode}):\n{output[-6000:]}")
    return result.stdout


def run(ctx):
    example = os.path.join(ctx.root, "docs", "examples", "typescript")
    contract = os.path.join(ctx.root, "openapi", "openapi.yaml")
    npm_env = dict(os.environ, npm_config_update_notifier="false")

    sh(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], example, npm_env)
    sh(
        ["npx", "--no-install", "openapi-typescript", contract, "-o", "generated/api.d.ts"],
        example,
        npm_env,
        "openapi-typescript",
    )
    sh(["npx", "--no-install", "tsc", "--noEmit", "-p", "."], example, npm_env,
       "tsc --strict (the example client no longer matches the contract)")
    log("typescript: the example client type-checks against the contract")

    with tempfile.TemporaryDirectory(prefix="bazaar-ts-") as out:
        sh(["npx", "--no-install", "tsc", "-p", ".", "--outDir", out], example, npm_env, "tsc (emit)")
        # The emitted modules are ES modules; say so to node outside the example's package.
        with open(os.path.join(out, "package.json"), "w") as f:
            f.write('{"type": "module"}\n')
        env = dict(
            npm_env,
            BAZAAR_URL=ctx.base_url,
            BAZAAR_PHONE=ctx.admin_phone,
            BAZAAR_PASSWORD=ctx.admin_password,
            BAZAAR_MESSAGES_URL=ctx.messages_url,
            BAZAAR_ID_TOKEN_URL=ctx.id_token_url,
            # The suites' servers run with a one-second OTP cooldown.
            BAZAAR_OTP_COOLDOWN_MS="1100",
        )
        if ctx.profile == "development":
            env["BAZAAR_DEV_CAPTURE"] = "1"
        else:
            env["BAZAAR_PAY_URL"] = ctx.pay_url
        output = sh(["node", os.path.join(out, "main.js")], example, env, "the example client against the server")
    with open(os.path.join(ctx.output_dir, "typescript-example.log"), "w") as f:
        f.write(output)
    for line in output.strip().splitlines():
        log(f"typescript: {line}")
