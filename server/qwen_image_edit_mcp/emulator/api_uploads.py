"""WaveSpeed's upload routes (presigned and multipart), the object storage a presigned upload PUTs to, and the
download URLs of uploaded files."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Any, cast
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..wavespeed.endpoints import BINARY_UPLOAD_PATH, PRESIGNED_UPLOAD_PATH
from .responses import UNAUTHORIZED, RouteGroup, envelope, error, has_authorization, json_body
from .uploads import Upload


class UploadRoutes(RouteGroup):
    def api_routes(self) -> list[Route]:
        """The routes under /api/v3, which must precede the catch-all for unknown API paths."""
        return [
            Route(PRESIGNED_UPLOAD_PATH, self.presigned_upload, methods=["POST"]),
            Route(BINARY_UPLOAD_PATH, self.binary_upload, methods=["POST"]),
        ]

    def routes(self) -> list[Route]:
        return [
            Route("/_storage/{token}", self.storage_put, methods=["PUT"]),
            Route("/media/{token}/{filename}", self.media, methods=["GET"]),
        ]

    async def presigned_upload(self, request: Request) -> Response:
        body = await json_body(request)
        self.log(request, body)
        if self.state.faults.presigned_unavailable:
            # As if this WaveSpeed deployment predates presigned uploads: clients should fall back to /binary.
            return error(404, "Not Found")
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        if not isinstance(body, dict):
            return error(400, "Invalid request body: expected a JSON object.")
        fields = cast(dict[str, Any], body)
        filename = fields.get("filename")
        size = fields.get("size")
        content_type = fields.get("content_type", "application/octet-stream")
        if not isinstance(filename, str) or not safe_name(filename):
            return error(400, "Invalid parameter 'filename': must be a non-empty file name.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return error(400, "Invalid parameter 'size': must be a non-negative integer (bytes).")
        if not isinstance(content_type, str) or not content_type:
            return error(400, "Invalid parameter 'content_type': must be a non-empty string.")
        upload = self.state.create_upload(safe_name(filename), size, content_type)
        data = self._upload_data(upload)
        data["upload"] = {
            "method": "PUT",
            "url": f"{self.state.base_url}/_storage/{upload.token}",
            "headers": {"Content-Type": upload.content_type},
        }
        return envelope(data)

    async def storage_put(self, request: Request) -> Response:
        self.log(request)
        upload = self.state.uploads.get(request.path_params["token"])
        if upload is None:
            return PlainTextResponse("NoSuchUpload: unknown upload URL.", status_code=404)
        # Object storage is a third party: a client that sends it the API key leaks the key.
        if has_authorization(request):
            return PlainTextResponse(
                "InvalidRequest: the storage URL must be called without an Authorization header.", status_code=400
            )
        if request.headers.get("content-type") != upload.content_type:
            return PlainTextResponse(
                f"InvalidRequest: Content-Type must be exactly {upload.content_type!r} as given in upload.headers.",
                status_code=400,
            )
        body = await request.body()
        if len(body) != upload.size:
            return PlainTextResponse(
                f"InvalidRequest: body is {len(body)} bytes but {upload.size} were declared.", status_code=400
            )
        upload.data = body
        return Response(status_code=200)

    async def binary_upload(self, request: Request) -> Response:
        self.log(request)
        if not self.authorized(request):
            return error(401, UNAUTHORIZED)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return error(400, "Invalid request: expected multipart/form-data with a part named 'file'.")
        async with request.form() as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                return error(400, "Missing required parameter 'file' (a multipart file part).")
            data = await part.read()
            filename = safe_name(part.filename or "") or "upload"
            content_type = part.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        upload = self.state.create_upload(filename, len(data), content_type, data)
        return envelope(self._upload_data(upload))

    async def media(self, request: Request) -> Response:
        self.log(request)
        upload = self.state.uploads.get(request.path_params["token"])
        if upload is None or upload.data is None or upload.filename != request.path_params["filename"]:
            return PlainTextResponse("Not Found", status_code=404)
        return Response(upload.data, media_type=upload.content_type)

    def _upload_data(self, upload: Upload) -> dict[str, Any]:
        kind = upload.content_type.split("/", 1)[0]
        return {
            "type": kind if kind in ("image", "video", "audio") else "image",
            "download_url": f"{self.state.base_url}/media/{upload.token}/{quote(upload.filename)}",
            "filename": upload.filename,
            "size": upload.size,
        }


def safe_name(filename: str) -> str:
    # Keep only the last path component: the name becomes part of a URL path.
    return PurePosixPath(filename.replace("\\", "/")).name.strip()
